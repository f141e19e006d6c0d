// bug_chancycle — BUG: two goroutines deadlocked in a channel cycle.
//
// Goroutine "x" does `c1 <- 1` then `<-c2`; goroutine "y" does `c2 <- 1` then
// `<-c1`. Both channels are unbuffered, so each blocks forever in its send,
// waiting for the other to receive. Main stays alive in time.Sleep for
// GOSCOPE_HOLD seconds (default 30), then exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=c1 addr=<%p> cap=0
//	FACT chan name=c2 addr=<%p> cap=0
//	FACT goid=<x> role=x sends=c1 then_recvs=c2
//	FACT goid=<y> role=y sends=c2 then_recvs=c1
//	FACT blocked goid=<x> reason="chan send" on=c1 waits_for=<y>
//	FACT blocked goid=<y> reason="chan send" on=c2 waits_for=<x>
//	FACT settled kind=chancycle blocked=2 cycle=<x>,<y>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: x parked in chansend on c1, y parked in chansend
// on c2 (each channel has one waiting sender, no receiver); cycle {x, y}.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	hold := holdDuration(30 * time.Second)
	start("bug_chancycle")
	c1, c2 := make(chan int), make(chan int)
	fact("chan name=c1 addr=%p cap=0", c1)
	fact("chan name=c2 addr=%p cap=0", c2)

	announce := make(chan int64, 2)
	go func() {
		id := curGoid()
		fact("goid=%d role=x sends=c1 then_recvs=c2", id)
		announce <- id
		c1 <- 1
		<-c2
	}()
	x := <-announce
	go func() {
		id := curGoid()
		fact("goid=%d role=y sends=c2 then_recvs=c1", id)
		announce <- id
		c2 <- 1
		<-c1
	}()
	y := <-announce

	st := waitBlocked([]int64{x, y})
	fact("blocked goid=%d reason=%q on=c1 waits_for=%d", x, st[x], y)
	fact("blocked goid=%d reason=%q on=c2 waits_for=%d", y, st[y], x)
	fact("settled kind=chancycle blocked=2 cycle=%d,%d", x, y)

	time.Sleep(hold)
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
