// Command load is the traced program of bench/trace/run.sh: a channel ping-pong,
// a contended sync.Mutex counter or a worker pool, that runs for a fixed time and
// prints its throughput, so that the same run can be done untraced, under goscope
// and under the alternatives (bpftrace, Go's own runtime/trace with -runtime-trace).
//
// It starts held: it prints "ready pid=PID" on stdout, then waits for a line
// (or EOF) on stdin before the timed loop, so a tracer can attach first.
// At the end it prints one line
//
//	result mode=pingpong workers=1 ops=123456 secs=2.000 ops_per_s=61728
//
// where an op is one round trip (pingpong: a value sent over one unbuffered
// channel and back over another), one Lock/counter++/Unlock (mutex) or one job
// (pool: a producer hands small jobs to the workers over a buffered channel, each
// worker hashes its job and sends the result to a collector).
//
//	load -mode pingpong -pairs 2 -d 3s -rate 50000 < fifo
//	load -mode mutex -workers 4 -d 3s < fifo
//	load -mode pool -workers 8 -d 3s -runtime-trace trace.out < fifo
package main

import (
	"bufio"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

var stop atomic.Bool

// pacer keeps one goroutine at `rate` ops per second: after each batch of
// about a millisecond's worth of ops it sleeps until the schedule catches up.
// rate 0: as fast as possible.
type pacer struct {
	rate  float64
	batch int64
	start time.Time
	done  int64
}

func newPacer(rate float64) *pacer {
	p := &pacer{rate: rate, batch: 1, start: time.Now()}
	if rate > 1000 {
		p.batch = int64(rate / 1000)
	}
	return p
}

func (p *pacer) tick() {
	if p.rate <= 0 {
		return
	}
	p.done++
	if p.done%p.batch != 0 {
		return
	}
	due := p.start.Add(time.Duration(float64(p.done) / p.rate * 1e9))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// pinger sends on ping and waits for the value back on pong, until stop.
//
//go:noinline
func pinger(ping chan<- int, pong <-chan int, rate float64) int64 {
	p := newPacer(rate)
	var n int64
	for !stop.Load() {
		ping <- int(n)
		<-pong
		n++
		p.tick()
	}
	close(ping)
	return n
}

// ponger bounces every value back until ping is closed.
//
//go:noinline
func ponger(ping <-chan int, pong chan<- int) {
	for v := range ping {
		pong <- v
	}
}

func runPingPong(pairs int, rate float64) int64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < pairs; i++ {
		ping, pong := make(chan int), make(chan int)
		wg.Add(2)
		go func() { defer wg.Done(); ponger(ping, pong) }()
		go func() { defer wg.Done(); total.Add(pinger(ping, pong, rate/float64(pairs))) }()
	}
	wg.Wait()
	return total.Load()
}

var (
	mu      sync.Mutex
	counter int64
)

// locker increments the shared counter under mu until stop.
//
//go:noinline
func locker() int64 {
	var n int64
	for !stop.Load() {
		mu.Lock()
		counter++
		mu.Unlock()
		n++
	}
	return n
}

func runMutex(workers int) int64 {
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); locker() }()
	}
	wg.Wait()
	return counter
}

// job is one unit of the worker pool: a few hundred bytes to hash.
type job struct {
	id   int64
	data [256]byte
}

// poolWorker hashes jobs until the jobs channel is closed.
//
//go:noinline
func poolWorker(jobs <-chan *job, results chan<- uint64) {
	for j := range jobs {
		h := fnv.New64a()
		h.Write(j.data[:]) //nolint:errcheck // hashes never fail
		results <- h.Sum64() ^ uint64(j.id)
	}
}

// runPool: one producer, `workers` workers on a buffered jobs channel, one collector.
func runPool(workers int) int64 {
	jobs := make(chan *job, 64)
	results := make(chan uint64, 64)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); poolWorker(jobs, results) }()
	}
	done := make(chan int64)
	go func() {
		var n int64
		var sum uint64
		for r := range results {
			sum += r
			n++
		}
		_ = sum
		done <- n
	}()
	for id := int64(0); !stop.Load(); id++ {
		j := &job{id: id}
		j.data[id%256] = byte(id)
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	close(results)
	return <-done
}

func main() {
	mode := flag.String("mode", "pingpong", "pingpong or mutex")
	pairs := flag.Int("pairs", 1, "pingpong: goroutine pairs, each with its own two channels")
	workers := flag.Int("workers", 4, "mutex: goroutines contending for one sync.Mutex; pool: workers")
	traceFile := flag.String("runtime-trace", "", "run Go's runtime/trace during the timed loop, into this file")
	rate := flag.Float64("rate", 0, "pingpong: round trips per second, all pairs together (0: unlimited)")
	dur := flag.Duration("d", 3*time.Second, "length of the timed loop")
	flag.Parse()

	fmt.Printf("ready pid=%d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n') //nolint:errcheck // a line or EOF both mean: go

	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: runtime/trace:", err)
			os.Exit(2)
		}
		defer func() { trace.Stop(); f.Close() }()
	}
	t0 := time.Now()
	time.AfterFunc(*dur, func() { stop.Store(true) })
	var ops int64
	var n int
	switch *mode {
	case "pingpong":
		n = *pairs
		ops = runPingPong(*pairs, *rate)
	case "mutex":
		n = *workers
		ops = runMutex(*workers)
	case "pool":
		n = *workers
		ops = runPool(*workers)
	default:
		fmt.Fprintln(os.Stderr, "load: unknown -mode", *mode)
		os.Exit(2)
	}
	secs := time.Since(t0).Seconds()
	fmt.Printf("result mode=%s workers=%d ops=%d secs=%.4f ops_per_s=%.0f\n", *mode, n, ops, secs, float64(ops)/secs)
	if *traceFile != "" {
		trace.Stop() // before the exit: the deferred Stop is then a no-op
	}
}
