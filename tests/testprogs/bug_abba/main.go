// bug_abba — BUG: AB-BA mutex deadlock between two goroutines.
//
// Goroutine "ab" locks A then B; goroutine "ba" locks B then A. A WaitGroup
// barrier makes sure each holds its first lock before either asks for its second,
// so the deadlock happens every time. Main stays alive in time.Sleep (so Go's
// "all goroutines are asleep" detector never fires) for GOSCOPE_HOLD seconds
// (default 30), then exits 0 with the two goroutines still deadlocked.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT mutex name=A addr=<%p>
//	FACT mutex name=B addr=<%p>
//	FACT goid=<g1> role=ab holds=A wants=B
//	FACT goid=<g2> role=ba holds=B wants=A
//	FACT blocked goid=<g1> reason=<"sync.Mutex.Lock"|"semacquire" on 1.19> on=B holder=<g2>
//	FACT blocked goid=<g2> reason=<...> on=A holder=<g1>
//	FACT settled kind=abba blocked=2 cycle=<g1>,<g2>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: g1 parked in sync.(*Mutex).Lock on B, g2 parked in
// sync.(*Mutex).Lock on A; main in time.Sleep. Deadlock cycle {g1, g2}.
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

var A, B sync.Mutex

func lockBoth(role string, first, second *sync.Mutex, fn, sn string, barrier *sync.WaitGroup, announce chan<- int64) {
	first.Lock()
	barrier.Done()
	barrier.Wait() // both hold their first lock now
	id := curGoid()
	fact("goid=%d role=%s holds=%s wants=%s", id, role, fn, sn)
	announce <- id
	second.Lock() // never returns
	second.Unlock()
	first.Unlock()
}

func main() {
	hold := holdDuration(30 * time.Second)
	start("bug_abba")
	fact("mutex name=A addr=%p", &A)
	fact("mutex name=B addr=%p", &B)

	var barrier sync.WaitGroup
	barrier.Add(2)
	abc := make(chan int64, 1)
	bac := make(chan int64, 1)
	go lockBoth("ab", &A, &B, "A", "B", &barrier, abc)
	go lockBoth("ba", &B, &A, "B", "A", &barrier, bac)
	g1, g2 := <-abc, <-bac

	st := waitBlocked([]int64{g1, g2})
	fact("blocked goid=%d reason=%q on=B holder=%d", g1, st[g1], g2)
	fact("blocked goid=%d reason=%q on=A holder=%d", g2, st[g2], g1)
	fact("settled kind=abba blocked=2 cycle=%d,%d", g1, g2)

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
