// bug_sendleak — BUG: goroutine leak, a send on a channel nobody will ever receive from.
//
// fetch() makes an unbuffered channel, starts a worker goroutine that computes a
// value and sends it on the channel, and waits for it with a 1 ms time.After
// timeout. The worker is slower than the timeout (it waits for a gate that main
// opens only after all fetches returned), so fetch returns "timeout" and the
// worker blocks forever in its send: the channel is now reachable only from the
// leaked goroutine. fetch is called 3 times: 3 leaked goroutines, 3 channels.
// Main stays alive in time.Sleep for GOSCOPE_HOLD seconds (default 30), exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=result<i> addr=<%p> cap=0          (i = 0, 1, 2)
//	FACT fetch idx=<i> result=timeout
//	FACT goid=<g> role=worker idx=<i> chan=result<i>  (x3)
//	FACT blocked goid=<g> reason="chan send" on=result<i>   (x3)
//	FACT settled kind=leak blocked=3 leaked=<g0>,<g1>,<g2>   (in idx order)
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: the 3 workers parked in chansend, each on its own
// channel that no other goroutine references; main in time.Sleep. Leak, not a cycle.
package main

import (
	"os"
	"time"

	"goscope.test/testprogs/internal/tp"
)

var (
	gate     = make(chan struct{})
	announce = make(chan [2]int64, 3) // {goid, idx}
)

func fetch(idx int) (int, bool) {
	result := make(chan int)
	tp.Fact("chan name=result%d addr=%p cap=0", idx, result)
	go func() {
		<-gate // "slow backend"
		id := tp.CurGoid()
		tp.Fact("goid=%d role=worker idx=%d chan=result%d", id, idx, idx)
		announce <- [2]int64{id, int64(idx)}
		result <- idx * 42 // nobody receives any more: leaks
	}()
	select {
	case v := <-result:
		return v, true
	case <-time.After(time.Millisecond):
		return 0, false
	}
}

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_sendleak")
	for i := 0; i < 3; i++ {
		if _, ok := fetch(i); !ok {
			tp.Fact("fetch idx=%d result=timeout", i)
		} else {
			tp.Fact("error msg=%q", "fetch did not time out")
			os.Exit(1)
		}
	}
	close(gate)
	ids := make([]int64, 3)
	for i := 0; i < 3; i++ {
		a := <-announce
		ids[a[1]] = a[0]
	}
	st := tp.WaitBlocked(ids)
	for i, id := range ids {
		tp.Fact("blocked goid=%d reason=%q on=result%d", id, st[id], i)
	}
	tp.Fact("settled kind=leak blocked=3 leaked=%d,%d,%d", ids[0], ids[1], ids[2])

	time.Sleep(hold)
	tp.Fact("done")
}
