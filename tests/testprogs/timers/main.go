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
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	start("timers")

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(idx int) {
			defer wg.Done()
			fact("goid=%d role=sleeper idx=%d", curGoid(), idx)
			for j := 0; j < 25; j++ {
				time.Sleep(2 * time.Millisecond)
			}
		}(i)
	}

	ticks := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		fact("goid=%d role=ticker", curGoid())
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
	fact("sleep goroutines=4 per_goroutine=25 dur=2ms total=100")
	fact("ticker period=5ms ticks=%d", ticks)
	fact("after count=10 dur=1ms timeouts=%d", timeouts)
	fact("timer name=stop stopped=%t", stopped)
	fact("timer name=reset fired=1")
	fact("afterfunc dur=3ms calls=%d", calls)

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
