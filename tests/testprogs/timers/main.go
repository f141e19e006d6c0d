// timers — a sleep- and timer-heavy program that is never deadlocked.
//
// Exercises: time.Sleep (wait reason "sleep"), time.Ticker, time.After inside a
// select, timer Stop/Reset, time.AfterFunc. Goroutines waiting on timers are
// blocked but must never be reported as deadlocked or leaked. Note that on Go
// >= 1.23 timer channels are special (unbuffered-looking, hchan.timer set); a
// receive on one shows the wait reason "chan receive" or "select".
// sleepers:  4 goroutines x 25 time.Sleep(2ms)
// ticker:    one time.NewTicker(5ms), 20 ticks received, then Stop
// after:     10 x select { <-never; <-time.After(1ms) }  (never is never ready)
// stop:      time.NewTimer(1h) then Stop() before it fires (Stop returns true)
// reset:     time.NewTimer(1h), Reset(1ms), receive from C once
// afterfunc: time.AfterFunc(3ms, f); f runs once
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT goid=<g> role=sleeper idx=<i>     (x4)     FACT goid=<g> role=ticker
//	FACT sleep goroutines=4 per_goroutine=25 dur=2ms total=100
//	FACT ticker period=5ms ticks=20
//	FACT after count=10 dur=1ms timeouts=10
//	FACT timer name=stop stopped=true
//	FACT timer name=reset fired=1
//	FACT afterfunc dur=3ms calls=1
//	FACT done
//
// End state: exits 0 after "FACT done" (sleeps GOSCOPE_HOLD seconds first if set);
// total run time about 0.1-0.3 s.
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	tp.Start("timers")

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(idx int) {
			defer wg.Done()
			tp.Fact("goid=%d role=sleeper idx=%d", tp.CurGoid(), idx)
			for j := 0; j < 25; j++ {
				time.Sleep(2 * time.Millisecond)
			}
		}(i)
	}

	ticks := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		tp.Fact("goid=%d role=ticker", tp.CurGoid())
		t := time.NewTicker(5 * time.Millisecond)
		for ticks < 20 {
			<-t.C
			ticks++
		}
		t.Stop()
	}()

	never := make(chan int)
	timeouts := 0
	for i := 0; i < 10; i++ {
		select {
		case <-never:
		case <-time.After(time.Millisecond):
			timeouts++
		}
	}

	stopT := time.NewTimer(time.Hour)
	stopped := stopT.Stop()

	resetT := time.NewTimer(time.Hour)
	resetT.Reset(time.Millisecond)
	<-resetT.C

	calls := 0
	var af sync.WaitGroup
	af.Add(1)
	time.AfterFunc(3*time.Millisecond, func() {
		calls++
		af.Done()
	})
	af.Wait()

	wg.Wait()
	tp.Fact("sleep goroutines=4 per_goroutine=25 dur=2ms total=100")
	tp.Fact("ticker period=5ms ticks=%d", ticks)
	tp.Fact("after count=10 dur=1ms timeouts=%d", timeouts)
	tp.Fact("timer name=stop stopped=%t", stopped)
	tp.Fact("timer name=reset fired=1")
	tp.Fact("afterfunc dur=3ms calls=%d", calls)

	time.Sleep(tp.HoldDuration(0))
	tp.Fact("done")
}
