// spawn_tree — a goroutine creation tree with known parents.
//
// Exercises: newproc/newproc1 (creator = parent), goroutine exit (goexit1), and
// an attach-time snapshot of a tree of live goroutines.
//
// main (depth 0) starts 3 children (depth 1); each child starts 2 grandchildren
// (depth 2): 9 goroutines in all. Every goroutine receives its parent's goid as an
// argument and prints its own goid with it. When all 9 exist, main prints
// "settled", keeps them alive (blocked in receive on the release channel) for
// GOSCOPE_HOLD seconds (default 0), then releases them; all 9 exit.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT spawn goid=<child> parent=<parent goid> depth=<1|2> idx=<i>     (x9)
//	FACT settled alive=9 children=3 grandchildren=6
//	FACT spawn_total count=9
//	FACT done
//
// End state: all 9 goroutines have exited; exits 0 after "FACT done".
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

var (
	created sync.WaitGroup // one Done per goroutine, once it has printed its fact
	exited  sync.WaitGroup
	release = make(chan struct{})
)

func node(parent int64, depth, idx int) {
	defer exited.Done()
	me := curGoid()
	fact("spawn goid=%d parent=%d depth=%d idx=%d", me, parent, depth, idx)
	if depth < 2 {
		for i := 0; i < 2; i++ {
			created.Add(1)
			exited.Add(1)
			go node(me, depth+1, i)
		}
	}
	created.Done()
	<-release
}

func main() {
	start("spawn_tree")
	me := curGoid()
	for i := 0; i < 3; i++ {
		created.Add(1)
		exited.Add(1)
		go node(me, 1, i)
	}
	created.Wait()
	fact("settled alive=9 children=3 grandchildren=6")
	time.Sleep(holdDuration(0))
	close(release)
	exited.Wait()
	fact("spawn_total count=9")
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
