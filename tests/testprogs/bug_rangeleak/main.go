// bug_rangeleak — BUG: range over a channel that nobody closes.
//
// A producer sends 5 items on items (buffered, cap 2) and returns without
// close(items). The consumer's `for v := range items` receives the 5 items and
// then blocks forever in a receive; the producer is gone, so nothing can ever
// send or close. Main stays alive in time.Sleep for GOSCOPE_HOLD seconds
// (default 30), then exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=items addr=<%p> cap=2
//	FACT goid=<p> role=producer sends=5 closes=0
//	FACT goid=<c> role=consumer
//	FACT chan name=items sends=5 recvs=5 closes=0 sum=15
//	FACT blocked goid=<c> reason="chan receive" on=items
//	FACT settled kind=leak blocked=1 leaked=<c>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: the consumer parked in chanrecv on items (empty,
// not closed, no other goroutine references it); the producer exited; main in
// time.Sleep.
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_rangeleak")
	items := make(chan int, 2)
	tp.Fact("chan name=items addr=%p cap=2", items)

	var produced sync.WaitGroup
	produced.Add(1)
	go func() {
		defer produced.Done()
		tp.Fact("goid=%d role=producer sends=5 closes=0", tp.CurGoid())
		for i := 1; i <= 5; i++ {
			items <- i
		}
		// BUG: forgot close(items)
	}()

	var received, sum int64
	announce := make(chan int64, 1)
	go func() {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=consumer", id)
		announce <- id
		for v := range items {
			atomic.AddInt64(&sum, int64(v))
			atomic.AddInt64(&received, 1)
		}
		tp.Fact("error msg=%q", "range over items ended")
	}()
	c := <-announce
	produced.Wait()
	for atomic.LoadInt64(&received) < 5 {
		time.Sleep(time.Millisecond)
	}
	st := tp.WaitBlocked([]int64{c})
	tp.Fact("chan name=items sends=5 recvs=%d closes=0 sum=%d", atomic.LoadInt64(&received), atomic.LoadInt64(&sum))
	tp.Fact("blocked goid=%d reason=%q on=items", c, st[c])
	tp.Fact("settled kind=leak blocked=1 leaked=%d", c)

	time.Sleep(hold)
	tp.Fact("done")
}
