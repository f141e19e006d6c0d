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
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

var sink int

func main() {
	m := envInt("GOSCOPE_N", 1000)
	start("mutex_contention")
	mainGoid := curGoid()

	// ---- phase gate
	var gate sync.Mutex
	fact("mutex name=gate addr=%p", &gate)
	gate.Lock()
	announce := make(chan int64, 3)
	var gw sync.WaitGroup
	for i := 0; i < 3; i++ {
		gw.Add(1)
		go func() {
			defer gw.Done()
			id := curGoid()
			fact("goid=%d role=gate_waiter", id)
			announce <- id
			gate.Lock()
			gate.Unlock()
		}()
	}
	ids := []int64{<-announce, <-announce, <-announce}
	states := waitBlocked(ids)
	for _, id := range ids {
		fact("blocked goid=%d reason=%q on=gate", id, states[id])
	}
	fact("mutex name=gate addr=%p holder=%d waiters=3", &gate, mainGoid)
	gate.Unlock()
	gw.Wait()

	// ---- phase load
	var mu sync.Mutex
	counter := 0
	fact("mutex name=mu addr=%p", &mu)
	begin := make(chan struct{})
	var ww sync.WaitGroup
	for w := 0; w < 4; w++ {
		ww.Add(1)
		go func(idx int) {
			defer ww.Done()
			fact("goid=%d role=worker idx=%d", curGoid(), idx)
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
	fact("mutex name=mu addr=%p goroutines=4 per_goroutine=%d locks=%d counter=%d", &mu, m, 4*m, counter)

	time.Sleep(holdDuration(0))
	fact("done")
}

// ---- goscope testprog helpers: identical in every tests/testprogs/*/main.go ----
// (Each program is one self-contained file built by file path, so the helpers are
// copied rather than imported. Keep the copies identical; see README.md.)
//
// Output protocol: one fact per line, "FACT <kind-or-key=value> key=value ...".
// A value is either a run of non-space bytes or a Go-quoted string ("chan send").
// Each line is written with a single write(2), so lines never interleave.

// fact writes one "FACT ..." line to stdout.
func fact(format string, args ...interface{}) {
	os.Stdout.WriteString("FACT " + fmt.Sprintf(format, args...) + "\n")
}

// curGoid returns the current goroutine's id, parsed from the "goroutine N [" header
// that runtime.Stack writes.
func curGoid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := string(buf[:n])
	if strings.HasPrefix(s, "goroutine ") {
		s = s[len("goroutine "):]
		if i := strings.IndexByte(s, ' '); i > 0 {
			if id, err := strconv.ParseInt(s[:i], 10, 64); err == nil {
				return id
			}
		}
	}
	panic("testprog: cannot parse goroutine id from " + strconv.Quote(string(buf[:n])))
}

// start prints "FACT start ..." and "FACT goid=<n> role=main", then, if
// GOSCOPE_WAIT_STDIN=1, prints "FACT ready pid=<pid>" and blocks until one line
// (or EOF) can be read from stdin, so that a tracer can attach first.
func start(prog string) {
	fact("start prog=%s pid=%d go=%s", prog, os.Getpid(), runtime.Version())
	fact("goid=%d role=main", curGoid())
	if os.Getenv("GOSCOPE_WAIT_STDIN") == "1" {
		fact("ready pid=%d", os.Getpid())
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
}

// envInt returns the integer in environment variable name, or def if it is unset.
func envInt(name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		fmt.Fprintf(os.Stderr, "testprog: bad %s=%q (want a non-negative integer)\n", name, s)
		os.Exit(2)
	}
	return v
}

// holdDuration returns GOSCOPE_HOLD (seconds, may be fractional) or def if unset.
func holdDuration(def time.Duration) time.Duration {
	s := os.Getenv("GOSCOPE_HOLD")
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		fmt.Fprintf(os.Stderr, "testprog: bad GOSCOPE_HOLD=%q (want seconds)\n", s)
		os.Exit(2)
	}
	return time.Duration(f * float64(time.Second))
}

// goroutineStates maps every goroutine id to the state the runtime reports for it
// in runtime.Stack(all=true) ("running", "chan send", "sync.Mutex.Lock", ...),
// without the ", N minutes" / ", locked to thread" suffixes. Stops the world.
func goroutineStates() map[int64]string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	states := make(map[int64]string)
	for _, line := range strings.Split(string(buf), "\n") {
		if !strings.HasPrefix(line, "goroutine ") {
			continue
		}
		rest := line[len("goroutine "):]
		sp := strings.IndexByte(rest, ' ')
		lb := strings.IndexByte(rest, '[')
		rb := strings.LastIndexByte(rest, ']')
		if sp <= 0 || lb < sp || rb < lb {
			continue
		}
		id, err := strconv.ParseInt(rest[:sp], 10, 64)
		if err != nil {
			continue
		}
		state := rest[lb+1 : rb]
		if i := strings.Index(state, ", "); i >= 0 {
			state = state[:i]
		}
		states[id] = state
	}
	return states
}

// waitBlocked waits (up to 10s) until every goroutine in goids is parked, i.e. its
// state is none of running/runnable/syscall, and stays so for two polls in a row.
// It returns goid -> runtime wait reason. On timeout it prints "FACT error ..." and
// exits with status 3. Call it only after the goroutines announced that they are
// about to block, so that an earlier, unrelated wait is not mistaken for the final one.
func waitBlocked(goids []int64) map[int64]string {
	deadline := time.Now().Add(10 * time.Second)
	var prev map[int64]string
	for {
		st := goroutineStates()
		cur := make(map[int64]string)
		for _, id := range goids {
			s, ok := st[id]
			if !ok || s == "running" || s == "runnable" || s == "syscall" || s == "" {
				cur = nil
				break
			}
			cur[id] = s
		}
		if cur != nil && prev != nil && fmt.Sprint(cur) == fmt.Sprint(prev) {
			return cur
		}
		prev = cur
		if time.Now().After(deadline) {
			fact("error msg=%q", fmt.Sprintf("goroutines %v did not block; states %v", goids, st))
			os.Exit(3)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
