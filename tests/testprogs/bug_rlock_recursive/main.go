// bug_rlock_recursive — BUG: recursive RLock with a pending writer.
//
// Goroutine "reader" takes rw.RLock() and, still holding it, later takes
// rw.RLock() again (as a helper function called under the read lock would).
// Between the two, goroutine "writer" calls rw.Lock(): the writer waits for the
// first read lock to go away, and the second RLock waits behind the pending
// writer (sync.RWMutex blocks new readers once a writer is waiting). Neither can
// proceed. The reader sees that the writer is pending with rw.TryRLock()
// failing, so the deadlock happens every time. Main stays alive in time.Sleep
// for GOSCOPE_HOLD seconds (default 30), then exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT rwmutex name=rw addr=<%p>
//	FACT goid=<r> role=reader holds=rlock
//	FACT goid=<w> role=writer wants=lock
//	FACT goid=<r> role=reader writer_pending=true wants=rlock
//	FACT blocked goid=<r> reason=<"sync.RWMutex.RLock"|"semacquire" on 1.19> on=rw
//	FACT blocked goid=<w> reason=<"sync.RWMutex.Lock"|"semacquire" on 1.19> on=rw
//	FACT settled kind=rlock_recursive blocked=2 cycle=<r>,<w>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: reader parked in RWMutex.RLock (holding one read
// lock), writer parked in RWMutex.Lock (holding rw.w); main in time.Sleep.
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

var rw sync.RWMutex

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_rlock_recursive")
	tp.Fact("rwmutex name=rw addr=%p", &rw)

	announce := make(chan int64, 2)
	go func() {
		rw.RLock()
		id := tp.CurGoid()
		tp.Fact("goid=%d role=reader holds=rlock", id)
		announce <- id
		for rw.TryRLock() { // until a writer is pending
			rw.RUnlock()
			time.Sleep(time.Millisecond)
		}
		tp.Fact("goid=%d role=reader writer_pending=true wants=rlock", id)
		announce <- id
		rw.RLock() // never returns
		rw.RUnlock()
		rw.RUnlock()
	}()
	r := <-announce
	go func() {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=writer wants=lock", id)
		announce <- id
		rw.Lock() // never returns
		rw.Unlock()
	}()
	// The two remaining announcements come in either order; both are r and w.
	a, b := <-announce, <-announce
	w := a
	if a == r {
		w = b
	}
	st := tp.WaitBlocked([]int64{r, w})
	tp.Fact("blocked goid=%d reason=%q on=rw", r, st[r])
	tp.Fact("blocked goid=%d reason=%q on=rw", w, st[w])
	tp.Fact("settled kind=rlock_recursive blocked=2 cycle=%d,%d", r, w)

	time.Sleep(hold)
	tp.Fact("done")
}
