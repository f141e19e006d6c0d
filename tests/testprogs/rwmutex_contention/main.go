// rwmutex_contention — sync.RWMutex contention with known goroutine counts.
//
// Exercises: RWMutex RLock/RUnlock/Lock/Unlock, readers parked behind a writer,
// a writer parked behind readers, and mixed load.
//
// Phase readers_wait: main holds rw.Lock(); 3 reader goroutines call rw.RLock()
// and park (reason "sync.RWMutex.RLock" on Go >= 1.21 in the matrix, "semacquire" on 1.19);
// main prints them and unlocks.
//
// Phase writer_wait: 2 reader goroutines take rw.RLock() and hold it; a writer
// goroutine calls rw.Lock() and parks (reason "sync.RWMutex.Lock" / 1.19
// "semacquire"); main prints it and lets the readers RUnlock.
//
// Phase load: 4 readers do M RLock/RUnlock each, 2 writers do M/10 Lock/Unlock
// each (M = GOSCOPE_N, default 1000), all at once.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT rwmutex name=rw addr=<%p>
//	FACT goid=<g> role=reader phase=readers_wait                        (x3)
//	FACT blocked goid=<g> reason=<"sync.RWMutex.RLock"|"semacquire"> on=rw (x3)
//	FACT rwmutex name=rw addr=<%p> writer=<main goid> blocked_readers=3
//	FACT goid=<g> role=reader phase=writer_wait                         (x2)
//	FACT goid=<g> role=writer phase=writer_wait
//	FACT blocked goid=<g> reason=<"sync.RWMutex.Lock"|"semacquire"> on=rw
//	FACT rwmutex name=rw addr=<%p> readers=2 blocked_writer=<g>
//	FACT rwmutex name=rw addr=<%p> phase=load readers=4 writers=2 rlocks=4M locks=2*(M/10) value=2*(M/10)
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

func main() {
	m := tp.EnvInt("GOSCOPE_N", 1000)
	tp.Start("rwmutex_contention")
	mainGoid := tp.CurGoid()

	var rw sync.RWMutex
	tp.Fact("rwmutex name=rw addr=%p", &rw)

	// ---- phase readers_wait
	rw.Lock()
	announce := make(chan int64, 3)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := tp.CurGoid()
			tp.Fact("goid=%d role=reader phase=readers_wait", id)
			announce <- id
			rw.RLock()
			rw.RUnlock()
		}()
	}
	ids := []int64{<-announce, <-announce, <-announce}
	states := tp.WaitBlocked(ids)
	for _, id := range ids {
		tp.Fact("blocked goid=%d reason=%q on=rw", id, states[id])
	}
	tp.Fact("rwmutex name=rw addr=%p writer=%d blocked_readers=3", &rw, mainGoid)
	rw.Unlock()
	wg.Wait()

	// ---- phase writer_wait
	held := make(chan struct{}, 2)
	release := make(chan struct{})
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp.Fact("goid=%d role=reader phase=writer_wait", tp.CurGoid())
			rw.RLock()
			held <- struct{}{}
			<-release
			rw.RUnlock()
		}()
	}
	<-held
	<-held
	wg.Add(1)
	go func() {
		defer wg.Done()
		id := tp.CurGoid()
		tp.Fact("goid=%d role=writer phase=writer_wait", id)
		announce <- id
		rw.Lock()
		rw.Unlock()
	}()
	w := <-announce
	tp.Fact("blocked goid=%d reason=%q on=rw", w, tp.WaitBlocked([]int64{w})[w])
	tp.Fact("rwmutex name=rw addr=%p readers=2 blocked_writer=%d", &rw, w)
	close(release)
	wg.Wait()

	// ---- phase load
	value := 0
	begin := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			s := 0
			for j := 0; j < m; j++ {
				rw.RLock()
				s += value
				rw.RUnlock()
			}
			_ = s
		}()
	}
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			for j := 0; j < m/10; j++ {
				rw.Lock()
				value++
				rw.Unlock()
				runtime.Gosched()
			}
		}()
	}
	close(begin)
	wg.Wait()
	tp.Fact("rwmutex name=rw addr=%p phase=load readers=4 writers=2 rlocks=%d locks=%d value=%d", &rw, 4*m, 2*(m/10), value)

	time.Sleep(tp.HoldDuration(0))
	tp.Fact("done")
}
