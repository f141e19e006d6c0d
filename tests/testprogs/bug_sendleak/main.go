// bug_sendleak — BUG: goroutine leak, a send on a channel nobody will ever receive from.
//
// fetch() makes an unbuffered channel, starts a worker goroutine that computes a
// value and sends it on the channel, and waits for it with a 1 ms time.After
// timeout. The worker is slower than the timeout (it waits for a gate that main
// opens only after all fetches returned), so fetch returns "timeout" and the
// worker blocks forever in its send: the channel is now reachable only from the
// leaked goroutine. fetch is called 3 times: 3 leaked goroutines, 3 channels.
// Main stays alive in time.Sleep for GOSCOPE_HOLD seconds (default 30), exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=result<i> addr=<%p> cap=0          (i = 0, 1, 2)
//	FACT fetch idx=<i> result=timeout
//	FACT goid=<g> role=worker idx=<i> chan=result<i>  (x3)
//	FACT blocked goid=<g> reason="chan send" on=result<i>   (x3)
//	FACT settled kind=leak blocked=3 leaked=<g0>,<g1>,<g2>   (in idx order)
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: the 3 workers parked in chansend, each on its own
// channel that no other goroutine references; main in time.Sleep. Leak, not a cycle.
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

var (
	gate     = make(chan struct{})
	announce = make(chan [2]int64, 3) // {goid, idx}
)

func fetch(idx int) (int, bool) {
	result := make(chan int)
	fact("chan name=result%d addr=%p cap=0", idx, result)
	go func() {
		<-gate // "slow backend"
		id := curGoid()
		fact("goid=%d role=worker idx=%d chan=result%d", id, idx, idx)
		announce <- [2]int64{id, int64(idx)}
		result <- idx * 42 // nobody receives any more: leaks
	}()
	select {
	case v := <-result:
		return v, true
	case <-time.After(time.Millisecond):
		return 0, false
	}
}

func main() {
	hold := holdDuration(30 * time.Second)
	start("bug_sendleak")
	for i := 0; i < 3; i++ {
		if _, ok := fetch(i); !ok {
			fact("fetch idx=%d result=timeout", i)
		} else {
			fact("error msg=%q", "fetch did not time out")
			os.Exit(1)
		}
	}
	close(gate)
	ids := make([]int64, 3)
	for i := 0; i < 3; i++ {
		a := <-announce
		ids[a[1]] = a[0]
	}
	st := waitBlocked(ids)
	for i, id := range ids {
		fact("blocked goid=%d reason=%q on=result%d", id, st[id], i)
	}
	fact("settled kind=leak blocked=3 leaked=%d,%d,%d", ids[0], ids[1], ids[2])

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
