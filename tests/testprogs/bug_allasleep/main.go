// bug_allasleep — BUG: every goroutine is blocked; Go's own detector aborts the program.
//
// This is the one program that deliberately lets the runtime's "all goroutines
// are asleep" check fire. After the optional stdin wait, a worker goroutine
// blocks receiving from c2 while main blocks sending on c1: nobody else exists
// (no timers, no network, no signal handling), so the runtime prints
// "fatal error: all goroutines are asleep - deadlock!" with both goroutines'
// stacks and exits with status 2 immediately. GOSCOPE_HOLD is ignored.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=c1 addr=<%p> cap=0
//	FACT chan name=c2 addr=<%p> cap=0
//	FACT goid=<w> role=worker blocks=recv on=c2
//	FACT goid=<main> role=main blocks=send on=c1
//	(no "FACT done")
//
// Expected end state: the process exits with status 2; stderr contains
// "fatal error: all goroutines are asleep - deadlock!", "goroutine 1 [chan send]:"
// and "goroutine <w> [chan receive]:".
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
	start("bug_allasleep")
	c1, c2 := make(chan int), make(chan int)
	fact("chan name=c1 addr=%p cap=0", c1)
	fact("chan name=c2 addr=%p cap=0", c2)
	var started sync.WaitGroup
	started.Add(1)
	go func() {
		fact("goid=%d role=worker blocks=recv on=c2", curGoid())
		started.Done()
		<-c2
		c1 <- 1
	}()
	started.Wait()
	fact("goid=%d role=main blocks=send on=c1", curGoid())
	c1 <- 1 // the worker is waiting on c2, not c1: everybody is asleep now
	<-c2
	fact("error msg=%q", "not deadlocked")
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
