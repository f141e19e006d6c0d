// waitgroup_cond — sync.WaitGroup and sync.Cond (Wait / Signal / Broadcast).
//
// Exercises: WaitGroup Add/Done/Wait with parked waiters; Cond.Wait
// (notifyListAdd / notifyListWait), Cond.Signal waking exactly one waiter and
// Cond.Broadcast waking the rest.
//
// WaitGroup: main does wg.Add(5) and starts 5 workers that wait for a gate
// channel and then call wg.Done(); 2 waiter goroutines call wg.Wait() and park
// (reason "sync.WaitGroup.Wait" on Go >= 1.24, "semacquire" before); main
// prints them, opens the gate and itself calls wg.Wait() (3 Wait calls total).
//
// Cond: 3 goroutines lock mu and call c.Wait() (reason "sync.Cond.Wait"); once
// all 3 are parked main calls c.Signal() (exactly 1 wakes), waits for that one
// to report, then calls c.Broadcast() (the other 2 wake).
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT waitgroup name=wg addr=<%p>
//	FACT goid=<g> role=wg_worker idx=<i>   (x5)     FACT goid=<g> role=wg_waiter (x2)
//	FACT blocked goid=<g> reason=<"sync.WaitGroup.Wait"|"semacquire"> on=wg   (x2)
//	FACT waitgroup name=wg addr=<%p> add_total=5 done_calls=5 wait_calls=3 blocked_waiters=2
//	FACT cond name=c addr=<%p> mutex_addr=<%p of mu>
//	FACT goid=<g> role=cond_waiter                  (x3)
//	FACT blocked goid=<g> reason="sync.Cond.Wait" on=c   (x3)
//	FACT woken goid=<g> by=signal                   (x1)
//	FACT woken goid=<g> by=broadcast                (x2)
//	FACT cond name=c addr=<%p> waiters=3 signals=1 broadcasts=1 wakeups=3 woken_by_signal=1 woken_by_broadcast=2
//	FACT done
//
// End state: exits 0 after "FACT done" (sleeps GOSCOPE_HOLD seconds first if set).
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	tp.Start("waitgroup_cond")

	// ---- WaitGroup
	var wg sync.WaitGroup
	tp.Fact("waitgroup name=wg addr=%p", &wg)
	gate := make(chan struct{})
	wg.Add(5)
	for i := 0; i < 5; i++ {
		go func(idx int) {
			tp.Fact("goid=%d role=wg_worker idx=%d", tp.CurGoid(), idx)
			<-gate
			wg.Done()
		}(i)
	}
	announce := make(chan int64, 3)
	var waiters sync.WaitGroup
	for i := 0; i < 2; i++ {
		waiters.Add(1)
		go func() {
			defer waiters.Done()
			id := tp.CurGoid()
			tp.Fact("goid=%d role=wg_waiter", id)
			announce <- id
			wg.Wait()
		}()
	}
	ids := []int64{<-announce, <-announce}
	states := tp.WaitBlocked(ids)
	for _, id := range ids {
		tp.Fact("blocked goid=%d reason=%q on=wg", id, states[id])
	}
	close(gate)
	wg.Wait()
	waiters.Wait()
	tp.Fact("waitgroup name=wg addr=%p add_total=5 done_calls=5 wait_calls=3 blocked_waiters=2", &wg)

	// ---- Cond
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	tp.Fact("cond name=c addr=%p mutex_addr=%p", c, &mu)
	phase := "none"
	bySignal, byBroadcast := 0, 0
	var cw sync.WaitGroup
	for i := 0; i < 3; i++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			id := tp.CurGoid()
			tp.Fact("goid=%d role=cond_waiter", id)
			mu.Lock()
			announce <- id
			c.Wait()
			by := phase
			if by == "signal" {
				bySignal++
			} else {
				byBroadcast++
			}
			mu.Unlock()
			tp.Fact("woken goid=%d by=%s", id, by)
		}()
	}
	ids = []int64{<-announce, <-announce, <-announce}
	states = tp.WaitBlocked(ids)
	for _, id := range ids {
		tp.Fact("blocked goid=%d reason=%q on=c", id, states[id])
	}
	mu.Lock()
	phase = "signal"
	c.Signal()
	mu.Unlock()
	for {
		mu.Lock()
		n := bySignal
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	phase = "broadcast"
	c.Broadcast()
	mu.Unlock()
	cw.Wait()
	tp.Fact("cond name=c addr=%p waiters=3 signals=1 broadcasts=1 wakeups=%d woken_by_signal=%d woken_by_broadcast=%d",
		c, bySignal+byBroadcast, bySignal, byBroadcast)

	time.Sleep(tp.HoldDuration(0))
	tp.Fact("done")
}
