// mutex_contention — sync.Mutex contention with known goroutine counts.
//
// Exercises: sync.Mutex Lock/Unlock (inlined fast path and lockSlow/unlockSlow),
// semacquire/semrelease on the mutex, and goroutines parked on a held mutex.
//
// Phase gate: main locks gate, starts 3 goroutines that each call gate.Lock(),
// waits until the runtime shows all 3 parked (wait reason "sync.Mutex.Lock" on
// Go >= 1.21 in the matrix, "semacquire" on 1.19), prints them, then unlocks: the 3 take the
// lock one after the other. Deterministic: holder = main, 3 waiters.
//
// Phase load: 4 goroutines each do M (GOSCOPE_N, default 1000) Lock/Unlock pairs
// on mu, with a little work (and a runtime.Gosched every 16th time) inside the
// critical section, so that they contend. Lock count is exact; how many of
// them had to wait is not.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT mutex name=gate addr=<%p>
//	FACT goid=<g> role=gate_waiter                              (x3)
//	FACT blocked goid=<g> reason=<"sync.Mutex.Lock"|"semacquire"> on=gate   (x3)
//	FACT mutex name=gate addr=<%p> holder=<main goid> waiters=3
//	FACT mutex name=mu addr=<%p>
//	FACT goid=<g> role=worker idx=<i>                           (x4)
//	FACT mutex name=mu addr=<%p> goroutines=4 per_goroutine=M locks=4M counter=4M
//	FACT done
//
// End state: exits 0 after "FACT done" (sleeps GOSCOPE_HOLD seconds first if set).
package main

import (
	"runtime"
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

var sink int

func main() {
	m := tp.EnvInt("GOSCOPE_N", 1000)
	tp.Start("mutex_contention")
	mainGoid := tp.CurGoid()

	// ---- phase gate
	var gate sync.Mutex
	tp.Fact("mutex name=gate addr=%p", &gate)
	gate.Lock()
	announce := make(chan int64, 3)
	var gw sync.WaitGroup
	for i := 0; i < 3; i++ {
		gw.Add(1)
		go func() {
			defer gw.Done()
			id := tp.CurGoid()
			tp.Fact("goid=%d role=gate_waiter", id)
			announce <- id
			gate.Lock()
			gate.Unlock()
		}()
	}
	ids := []int64{<-announce, <-announce, <-announce}
	states := tp.WaitBlocked(ids)
	for _, id := range ids {
		tp.Fact("blocked goid=%d reason=%q on=gate", id, states[id])
	}
	tp.Fact("mutex name=gate addr=%p holder=%d waiters=3", &gate, mainGoid)
	gate.Unlock()
	gw.Wait()

	// ---- phase load
	var mu sync.Mutex
	counter := 0
	tp.Fact("mutex name=mu addr=%p", &mu)
	begin := make(chan struct{})
	var ww sync.WaitGroup
	for w := 0; w < 4; w++ {
		ww.Add(1)
		go func(idx int) {
			defer ww.Done()
			tp.Fact("goid=%d role=worker idx=%d", tp.CurGoid(), idx)
			<-begin
			for i := 0; i < m; i++ {
				mu.Lock()
				counter++
				x := 0
				for j := 0; j < 200; j++ {
					x += j * i
				}
				sink += x
				if i%16 == 0 {
					runtime.Gosched()
				}
				mu.Unlock()
			}
		}(w)
	}
	close(begin)
	ww.Wait()
	tp.Fact("mutex name=mu addr=%p goroutines=4 per_goroutine=%d locks=%d counter=%d", &mu, m, 4*m, counter)

	time.Sleep(tp.HoldDuration(0))
	tp.Fact("done")
}
