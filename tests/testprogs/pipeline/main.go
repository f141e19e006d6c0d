// pipeline — a three-stage channel pipeline with known operation counts.
//
// Exercises: makechan, chansend/chanrecv on unbuffered and buffered channels,
// range-over-channel, closechan, a receive that returns because the channel is
// closed, and goroutine exit.
// gen --nums (unbuffered)--> square x2 --squares (cap 8)--> sink --result (unbuffered)--> main
//
// gen sends 1..N (GOSCOPE_N, default 100) on nums and closes it; two square
// workers range over nums and send v*v on squares; a closer goroutine closes
// squares when both workers returned; sink ranges over squares and sends the sum
// on result once; main receives it. Before the pipeline runs, main sends and
// receives nothing else.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=nums addr=<%p> cap=0
//	FACT chan name=squares addr=<%p> cap=8
//	FACT chan name=result addr=<%p> cap=0
//	FACT goid=<g> role=gen | role=square idx=0 | role=square idx=1 | role=closer | role=sink
//	FACT chan name=nums sends=N recvs=N recv_closed=2 closes=1
//	FACT chan name=squares sends=N recvs=N recv_closed=1 closes=1
//	FACT chan name=result sends=1 recvs=1 recv_closed=0 closes=0
//	FACT result sum=<N(N+1)(2N+1)/6>
//	FACT done
//
// ("recvs" counts receives that got a value; "recv_closed" counts receives that
// returned because the channel was closed — range loops end with one each.)
// End state: all pipeline goroutines have exited; exits 0 after "FACT done"
// (after sleeping GOSCOPE_HOLD seconds first if that is set).
package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	n := tp.EnvInt("GOSCOPE_N", 100)
	tp.Start("pipeline")

	nums := make(chan int)
	squares := make(chan int, 8)
	result := make(chan int)
	tp.Fact("chan name=nums addr=%p cap=0", nums)
	tp.Fact("chan name=squares addr=%p cap=8", squares)
	tp.Fact("chan name=result addr=%p cap=0", result)

	go func() { // gen
		tp.Fact("goid=%d role=gen", tp.CurGoid())
		for i := 1; i <= n; i++ {
			nums <- i
		}
		close(nums)
	}()

	var workers sync.WaitGroup
	for w := 0; w < 2; w++ {
		workers.Add(1)
		go func(idx int) { // square
			defer workers.Done()
			tp.Fact("goid=%d role=square idx=%d", tp.CurGoid(), idx)
			for v := range nums {
				squares <- v * v
			}
		}(w)
	}

	go func() { // closer
		tp.Fact("goid=%d role=closer", tp.CurGoid())
		workers.Wait()
		close(squares)
	}()

	go func() { // sink
		tp.Fact("goid=%d role=sink", tp.CurGoid())
		sum := 0
		for v := range squares {
			sum += v
		}
		result <- sum
	}()

	sum := <-result
	tp.Fact("chan name=nums sends=%d recvs=%d recv_closed=2 closes=1", n, n)
	tp.Fact("chan name=squares sends=%d recvs=%d recv_closed=1 closes=1", n, n)
	tp.Fact("chan name=result sends=1 recvs=1 recv_closed=0 closes=0")
	if want := n * (n + 1) * (2*n + 1) / 6; sum != want {
		tp.Fact("error msg=%q", fmt.Sprintf("sum %d != %d", sum, want))
		os.Exit(1)
	}
	tp.Fact("result sum=%d", sum)
	time.Sleep(tp.HoldDuration(0))
	tp.StopRuntimeTrace()
	tp.Fact("done")
}
