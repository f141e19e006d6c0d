// bug_abba — BUG: AB-BA mutex deadlock between two goroutines.
//
// Goroutine "ab" locks A then B; goroutine "ba" locks B then A. A WaitGroup
// barrier makes sure each holds its first lock before either asks for its second,
// so the deadlock happens every time. Main stays alive in time.Sleep (so Go's
// "all goroutines are asleep" detector never fires) for GOSCOPE_HOLD seconds
// (default 30), then exits 0 with the two goroutines still deadlocked.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT mutex name=A addr=<%p>
//	FACT mutex name=B addr=<%p>
//	FACT goid=<g1> role=ab holds=A wants=B
//	FACT goid=<g2> role=ba holds=B wants=A
//	FACT blocked goid=<g1> reason=<"sync.Mutex.Lock"|"semacquire" on 1.19> on=B holder=<g2>
//	FACT blocked goid=<g2> reason=<...> on=A holder=<g1>
//	FACT settled kind=abba blocked=2 cycle=<g1>,<g2>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: g1 parked in sync.(*Mutex).Lock on B, g2 parked in
// sync.(*Mutex).Lock on A; main in time.Sleep. Deadlock cycle {g1, g2}.
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

var A, B sync.Mutex

func lockBoth(role string, first, second *sync.Mutex, fn, sn string, barrier *sync.WaitGroup, announce chan<- int64) {
	first.Lock()
	barrier.Done()
	barrier.Wait() // both hold their first lock now
	id := tp.CurGoid()
	tp.Fact("goid=%d role=%s holds=%s wants=%s", id, role, fn, sn)
	announce <- id
	second.Lock() // never returns
	second.Unlock()
	first.Unlock()
}

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_abba")
	tp.Fact("mutex name=A addr=%p", &A)
	tp.Fact("mutex name=B addr=%p", &B)

	var barrier sync.WaitGroup
	barrier.Add(2)
	abc := make(chan int64, 1)
	bac := make(chan int64, 1)
	go lockBoth("ab", &A, &B, "A", "B", &barrier, abc)
	go lockBoth("ba", &B, &A, "B", "A", &barrier, bac)
	g1, g2 := <-abc, <-bac

	st := tp.WaitBlocked([]int64{g1, g2})
	tp.Fact("blocked goid=%d reason=%q on=B holder=%d", g1, st[g1], g2)
	tp.Fact("blocked goid=%d reason=%q on=A holder=%d", g2, st[g2], g1)
	tp.Fact("settled kind=abba blocked=2 cycle=%d,%d", g1, g2)

	time.Sleep(hold)
	tp.Fact("done")
}
