// bug_wgnever — BUG: a WaitGroup that never reaches zero.
//
// Main does wg.Add(3) and starts 3 workers; worker 1 hits an "error path" and
// returns without calling wg.Done(). A waiter goroutine calls wg.Wait() and
// blocks forever (counter stuck at 1); the 3 workers have exited, so nobody can
// ever call Done. Main stays alive in time.Sleep for GOSCOPE_HOLD seconds
// (default 30), then exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT waitgroup name=wg addr=<%p>
//	FACT goid=<g> role=worker idx=<i> done=<true|false>      (x3, idx 1 has done=false)
//	FACT goid=<w> role=waiter
//	FACT blocked goid=<w> reason=<"sync.WaitGroup.Wait" on Go >= 1.24, "semacquire" before> on=wg
//	FACT waitgroup name=wg addr=<%p> adds=3 dones=2 counter=1
//	FACT settled kind=waitgroup blocked=1 waiter=<w>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: the waiter parked in sync.(*WaitGroup).Wait; all
// workers exited; main in time.Sleep.
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_wgnever")
	var wg sync.WaitGroup
	tp.Fact("waitgroup name=wg addr=%p", &wg)

	var exited sync.WaitGroup // only to know that the workers are gone
	wg.Add(3)
	for i := 0; i < 3; i++ {
		exited.Add(1)
		go func(idx int) {
			defer exited.Done()
			if idx == 1 { // "error path": forgets wg.Done()
				tp.Fact("goid=%d role=worker idx=%d done=false", tp.CurGoid(), idx)
				return
			}
			tp.Fact("goid=%d role=worker idx=%d done=true", tp.CurGoid(), idx)
			wg.Done()
		}(i)
	}
	exited.Wait()

	announce := make(chan int64, 1)
	go func() {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=waiter", id)
		announce <- id
		wg.Wait() // never returns
	}()
	w := <-announce
	st := tp.WaitBlocked([]int64{w})
	tp.Fact("blocked goid=%d reason=%q on=wg", w, st[w])
	tp.Fact("waitgroup name=wg addr=%p adds=3 dones=2 counter=1", &wg)
	tp.Fact("settled kind=waitgroup blocked=1 waiter=%d", w)

	time.Sleep(hold)
	tp.Fact("done")
}
