// healthy_idle — NOT a bug: a service at rest, full of goroutines that are blocked
// for a long time, each of which will be woken by someone. A detector that calls
// "blocked for more than N seconds" a deadlock or a leak is wrong here.
//
// Goroutines (each announces itself, then blocks):
//
//   - worker x3: `for j := range jobs` on an unbuffered channel fed by the
//     producer, which is driven by a time.Ticker with a 4 s period (longer than
//     goscope trace's default --deadlock-after of 3 s): the workers sit in
//     "chan receive" for ~4 s between jobs, the producer waits on the ticker;
//   - sleeper x2: time.Sleep(10 * time.Minute);
//   - mutex_holder: locks mu, sleeps 20 s holding it, unlocks, again; mutex_waiter:
//     blocked in mu.Lock() meanwhile (then locks/unlocks it in a loop);
//   - wg_doner sleeps 20 s then calls wg.Done(); wg_waiter is blocked in wg.Wait()
//     meanwhile (a new WaitGroup each round);
//   - cond_signaller: every 5 s sets a flag and calls cond.Signal() under the lock;
//     cond_waiter: blocked in cond.Wait() between signals;
//   - later_receiver: blocked receiving on a channel that main holds in a live
//     variable and sends to once GOSCOPE_HOLD has passed;
//   - acceptor: blocked in Accept() on a net.Listener on 127.0.0.1:0 nobody
//     connects to (closed by main at the end).
//
// Main sleeps GOSCOPE_HOLD seconds (default 30), then sends on the channel,
// closes the listener, prints FACT done and exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=jobs addr=<%p> cap=0
//	FACT ticker period=4s
//	FACT mutex name=mu addr=<%p>
//	FACT cond name=cond addr=<%p> mutex_addr=<%p>
//	FACT chan name=later addr=<%p> cap=0
//	FACT listen addr=127.0.0.1:<p> port=<p>
//	FACT goid=<g> role=worker idx=<i>          (x3)
//	FACT goid=<g> role=producer
//	FACT goid=<g> role=sleeper idx=<i>         (x2)
//	FACT goid=<g> role=mutex_holder
//	FACT goid=<g> role=mutex_waiter
//	FACT goid=<g> role=wg_doner
//	FACT goid=<g> role=wg_waiter
//	FACT goid=<g> role=cond_waiter
//	FACT goid=<g> role=cond_signaller
//	FACT goid=<g> role=later_receiver
//	FACT goid=<g> role=acceptor
//	FACT blocked goid=<g> reason=<runtime's wait reason> role=<role>   (x14)
//	FACT settled kind=healthy blocked=14
//	FACT summary jobs=<n> mutex_rounds=<n> cond_signals=<n>   (after GOSCOPE_HOLD)
//	FACT later received=1 accept_err=closed
//	FACT done
//
// Expected state while held: every goroutine above parked (chan receive, sleep,
// sync.Mutex.Lock, sync.WaitGroup.Wait, sync.Cond.Wait, IO wait; semacquire on
// old versions), main sleeping; no deadlock, no leak: every blocked goroutine is
// woken eventually by a live goroutine or a timer.
package main

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"goscope.test/testprogs/internal/tp"
)

const (
	tickPeriod   = 4 * time.Second
	holdMutexFor = 20 * time.Second
	wgDoneAfter  = 20 * time.Second
	signalEvery  = 5 * time.Second
)

var (
	jobsDone    int64
	mutexRounds int64
	condSignals int64
)

type role struct {
	goid int64
	name string
}

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("healthy_idle")

	announce := make(chan role, 32)
	me := func(name string, extra string) {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=%s%s", id, name, extra)
		announce <- role{id, name}
	}

	// ---- worker pool fed by a slow ticker
	jobs := make(chan int)
	tp.Fact("chan name=jobs addr=%p cap=0", jobs)
	tp.Fact("ticker period=%v", tickPeriod)
	for i := 0; i < 3; i++ {
		go func(idx int) {
			me("worker", fmt.Sprintf(" idx=%d", idx))
			for range jobs {
				atomic.AddInt64(&jobsDone, 1)
			}
		}(i)
	}
	go func() {
		me("producer", "")
		t := time.NewTicker(tickPeriod)
		defer t.Stop()
		n := 0
		for range t.C {
			jobs <- n
			n++
		}
	}()

	// ---- long sleepers
	for i := 0; i < 2; i++ {
		go func(idx int) {
			me("sleeper", fmt.Sprintf(" idx=%d", idx))
			time.Sleep(10 * time.Minute)
		}(i)
	}

	// ---- a mutex held by a sleeping goroutine, another goroutine waiting for it
	var mu sync.Mutex
	tp.Fact("mutex name=mu addr=%p", &mu)
	locked := make(chan struct{})
	go func() {
		first := true
		for {
			mu.Lock()
			if first {
				first = false
				me("mutex_holder", "")
				close(locked)
			}
			time.Sleep(holdMutexFor)
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	<-locked
	go func() {
		me("mutex_waiter", "")
		for {
			mu.Lock()
			atomic.AddInt64(&mutexRounds, 1)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()

	// ---- a WaitGroup whose Done comes from a sleeping goroutine
	wgReady := make(chan *sync.WaitGroup, 1)
	go func() {
		first := true
		for {
			wg := new(sync.WaitGroup)
			wg.Add(1)
			wgReady <- wg
			if first {
				first = false
				me("wg_doner", "")
			}
			time.Sleep(wgDoneAfter)
			wg.Done()
		}
	}()
	go func() {
		first := true
		for {
			wg := <-wgReady
			if first {
				first = false
				me("wg_waiter", "")
			}
			wg.Wait()
		}
	}()

	// ---- a Cond signalled every few seconds
	var cmu sync.Mutex
	cond := sync.NewCond(&cmu)
	tp.Fact("cond name=cond addr=%p mutex_addr=%p", cond, &cmu)
	ready := false
	go func() {
		me("cond_waiter", "")
		for {
			cmu.Lock()
			for !ready {
				cond.Wait()
			}
			ready = false
			cmu.Unlock()
		}
	}()
	go func() {
		me("cond_signaller", "")
		for {
			time.Sleep(signalEvery)
			cmu.Lock()
			ready = true
			cond.Signal()
			atomic.AddInt64(&condSignals, 1)
			cmu.Unlock()
		}
	}()

	// ---- a channel main sends to at the end
	later := make(chan int)
	tp.Fact("chan name=later addr=%p cap=0", later)
	received := make(chan int, 1)
	go func() {
		me("later_receiver", "")
		received <- <-later
	}()

	// ---- a listener nobody connects to
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tp.Fact("error msg=%q", err.Error())
		panic(err)
	}
	tp.Fact("listen addr=%s port=%d", ln.Addr(), ln.Addr().(*net.TCPAddr).Port)
	acceptErr := make(chan error, 1)
	go func() {
		me("acceptor", "")
		c, err := ln.Accept()
		if c != nil {
			c.Close()
		}
		acceptErr <- err
	}()

	// ---- everything announced and parked
	const n = 14
	roles := make(map[int64]string)
	var ids []int64
	for len(ids) < n {
		r := <-announce
		roles[r.goid] = r.name
		ids = append(ids, r.goid)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	st := tp.WaitBlocked(ids)
	for _, id := range ids {
		tp.Fact("blocked goid=%d reason=%q role=%s", id, st[id], roles[id])
	}
	tp.Fact("settled kind=healthy blocked=%d", n)

	time.Sleep(hold)

	later <- 1
	got := <-received
	ln.Close()
	aerr := <-acceptErr
	closed := "no"
	if aerr != nil {
		closed = "closed"
	}
	tp.Fact("summary jobs=%d mutex_rounds=%d cond_signals=%d",
		atomic.LoadInt64(&jobsDone), atomic.LoadInt64(&mutexRounds), atomic.LoadInt64(&condSignals))
	tp.Fact("later received=%d accept_err=%s", got, closed)
	tp.Fact("done")
}
