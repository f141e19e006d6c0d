// cpu_spin — NOT a bug: a process that burns CPU in one known goroutine, for
// `goscope stat` (counters per process, thread and goroutine, and the CPU profile).
//
// Goroutines (each is started by a `go f()` statement without arguments, so that
// the runtime's start function of the goroutine, g.startpc, is f itself):
//
//   - hot x1: main.burn (//go:noinline), a tight arithmetic loop on a package-level
//     variable; it uses one CPU until the end;
//   - idle x GOSCOPE_IDLE (default 5): main.idle, time.Sleep(50 * time.Millisecond)
//     then a few hundred additions, in a loop: scheduled ~20 times a second each,
//     using next to no CPU;
//   - worker x GOSCOPE_WORKERS (default 0): main.work (//go:noinline), another
//     tight arithmetic loop, for a busier process whose CPU is spread over several
//     goroutines and threads.
//
// The idle goroutines are all created by one `go` statement, the workers by another.
// Main waits until every goroutine has announced itself, prints the facts, then
// sleeps GOSCOPE_HOLD seconds (default 10; fractions allowed), stops the
// goroutines, waits for them, prints the summary and exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT goid=<g> role=hot
//	FACT goid=<g> role=idle idx=<i>            (x GOSCOPE_IDLE, by idx)
//	FACT goid=<g> role=worker idx=<i>          (x GOSCOPE_WORKERS, by idx)
//	FACT settled kind=cpu hot=<goid of the hot goroutine> idle=<n> workers=<n>
//	FACT summary burn_iters=<n> work_iters=<n> idle_rounds=<n>   (after GOSCOPE_HOLD)
//	FACT done
//
// Expected while held: the hot goroutine (and each worker) always running or
// runnable, in main.burn (main.work); the idle goroutines in "sleep" nearly all the
// time; main sleeping. With no workers the process uses about one CPU, nearly all
// of it in main.burn.
package main

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"goscope.test/testprogs/internal/tp"
)

const (
	idlePeriod = 50 * time.Millisecond
	idleWork   = 200     // additions per idle round
	spinBatch  = 1 << 16 // iterations between two looks at the stop flag
)

type role struct {
	goid int64
	name string
	idx  int
}

var (
	// What the spinning loops write, so that the compiler keeps them.
	burnSink uint64
	workSink [64]uint64 // one cache line apart per worker (8 words)
	idleSink [64]uint64

	burnIters  uint64
	workIters  uint64
	idleRounds uint64

	stopping int32
	announce = make(chan role, 256)
	wg       sync.WaitGroup

	nextIdle   int32
	nextWorker int32
)

func stopped() bool { return atomic.LoadInt32(&stopping) != 0 }

// burn is the hot goroutine: it spins until main says stop.
//
//go:noinline
func burn() {
	defer wg.Done()
	announce <- role{tp.CurGoid(), "hot", -1}
	for !stopped() {
		for i := 0; i < spinBatch; i++ {
			burnSink = burnSink*6364136223846793005 + 1442695040888963407
		}
		atomic.AddUint64(&burnIters, spinBatch)
	}
}

// work is one extra busy goroutine.
//
//go:noinline
func work() {
	defer wg.Done()
	idx := int(atomic.AddInt32(&nextWorker, 1)) - 1
	announce <- role{tp.CurGoid(), "worker", idx}
	slot := (idx % 8) * 8
	for !stopped() {
		for i := 0; i < spinBatch; i++ {
			workSink[slot] = workSink[slot]*2862933555777941757 + 3037000493
		}
		atomic.AddUint64(&workIters, spinBatch)
	}
}

// idle sleeps most of the time and does a tiny bit of work between sleeps.
func idle() {
	defer wg.Done()
	idx := int(atomic.AddInt32(&nextIdle, 1)) - 1
	announce <- role{tp.CurGoid(), "idle", idx}
	slot := (idx % 8) * 8
	for !stopped() {
		time.Sleep(idlePeriod)
		for i := 0; i < idleWork; i++ {
			idleSink[slot] += uint64(i)
		}
		atomic.AddUint64(&idleRounds, 1)
	}
}

func main() {
	hold := tp.HoldDuration(10 * time.Second)
	nIdle := tp.EnvInt("GOSCOPE_IDLE", 5)
	nWorkers := tp.EnvInt("GOSCOPE_WORKERS", 0)
	tp.Start("cpu_spin")

	wg.Add(1 + nIdle + nWorkers)
	go burn()
	for i := 0; i < nIdle; i++ {
		go idle()
	}
	for i := 0; i < nWorkers; i++ {
		go work()
	}

	var hot int64
	var idles, workers []role
	for n := 0; n < 1+nIdle+nWorkers; n++ {
		r := <-announce
		switch r.name {
		case "hot":
			hot = r.goid
		case "idle":
			idles = append(idles, r)
		default:
			workers = append(workers, r)
		}
	}
	sort.Slice(idles, func(i, j int) bool { return idles[i].idx < idles[j].idx })
	sort.Slice(workers, func(i, j int) bool { return workers[i].idx < workers[j].idx })
	tp.Fact("goid=%d role=hot", hot)
	for _, r := range idles {
		tp.Fact("goid=%d role=idle idx=%d", r.goid, r.idx)
	}
	for _, r := range workers {
		tp.Fact("goid=%d role=worker idx=%d", r.goid, r.idx)
	}
	tp.Fact("settled kind=cpu hot=%d idle=%d workers=%d", hot, nIdle, nWorkers)

	time.Sleep(hold)

	atomic.StoreInt32(&stopping, 1)
	wg.Wait()
	tp.Fact("summary burn_iters=%d work_iters=%d idle_rounds=%d",
		atomic.LoadUint64(&burnIters), atomic.LoadUint64(&workIters), atomic.LoadUint64(&idleRounds))
	tp.Fact("done")
}
