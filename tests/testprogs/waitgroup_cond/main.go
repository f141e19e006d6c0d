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
	start("waitgroup_cond")

	// ---- WaitGroup
	var wg sync.WaitGroup
	fact("waitgroup name=wg addr=%p", &wg)
	gate := make(chan struct{})
	wg.Add(5)
	for i := 0; i < 5; i++ {
		go func(idx int) {
			fact("goid=%d role=wg_worker idx=%d", curGoid(), idx)
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
			id := curGoid()
			fact("goid=%d role=wg_waiter", id)
			announce <- id
			wg.Wait()
		}()
	}
	ids := []int64{<-announce, <-announce}
	states := waitBlocked(ids)
	for _, id := range ids {
		fact("blocked goid=%d reason=%q on=wg", id, states[id])
	}
	close(gate)
	wg.Wait()
	waiters.Wait()
	fact("waitgroup name=wg addr=%p add_total=5 done_calls=5 wait_calls=3 blocked_waiters=2", &wg)

	// ---- Cond
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	fact("cond name=c addr=%p mutex_addr=%p", c, &mu)
	phase := "none"
	bySignal, byBroadcast := 0, 0
	var cw sync.WaitGroup
	for i := 0; i < 3; i++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			id := curGoid()
			fact("goid=%d role=cond_waiter", id)
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
			fact("woken goid=%d by=%s", id, by)
		}()
	}
	ids = []int64{<-announce, <-announce, <-announce}
	states = waitBlocked(ids)
	for _, id := range ids {
		fact("blocked goid=%d reason=%q on=c", id, states[id])
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
	fact("cond name=c addr=%p waiters=3 signals=1 broadcasts=1 wakeups=%d woken_by_signal=%d woken_by_broadcast=%d",
		c, bySignal+byBroadcast, bySignal, byBroadcast)

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
