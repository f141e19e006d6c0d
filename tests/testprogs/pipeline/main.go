// pipeline — a three-stage channel pipeline with known operation counts.
//
// Exercises: makechan, chansend/chanrecv on unbuffered and buffered channels,
// range-over-channel, closechan, a receive that returns because the channel is
// closed, and goroutine exit.
// gen --nums (unbuffered)--> square x2 --squares (cap 8)--> sink --result (unbuffered)--> main
//
// gen sends 1..N (GOSCOPE_N, default 100) on nums and closes it; two square
// workers range over nums and send v*v on squares; a closer goroutine closes
// squares when both workers returned; sink ranges over squares and sends the sum
// on result once; main receives it. Before the pipeline runs, main sends and
// receives nothing else.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=nums addr=<%p> cap=0
//	FACT chan name=squares addr=<%p> cap=8
//	FACT chan name=result addr=<%p> cap=0
//	FACT goid=<g> role=gen | role=square idx=0 | role=square idx=1 | role=closer | role=sink
//	FACT chan name=nums sends=N recvs=N recv_closed=2 closes=1
//	FACT chan name=squares sends=N recvs=N recv_closed=1 closes=1
//	FACT chan name=result sends=1 recvs=1 recv_closed=0 closes=0
//	FACT result sum=<N(N+1)(2N+1)/6>
//	FACT done
//
// ("recvs" counts receives that got a value; "recv_closed" counts receives that
// returned because the channel was closed — range loops end with one each.)
// End state: all pipeline goroutines have exited; exits 0 after "FACT done"
// (after sleeping GOSCOPE_HOLD seconds first if that is set).
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
	n := envInt("GOSCOPE_N", 100)
	start("pipeline")

	nums := make(chan int)
	squares := make(chan int, 8)
	result := make(chan int)
	fact("chan name=nums addr=%p cap=0", nums)
	fact("chan name=squares addr=%p cap=8", squares)
	fact("chan name=result addr=%p cap=0", result)

	go func() { // gen
		fact("goid=%d role=gen", curGoid())
		for i := 1; i <= n; i++ {
			nums <- i
		}
		close(nums)
	}()

	var workers sync.WaitGroup
	for w := 0; w < 2; w++ {
		workers.Add(1)
		go func(idx int) { // square
			defer workers.Done()
			fact("goid=%d role=square idx=%d", curGoid(), idx)
			for v := range nums {
				squares <- v * v
			}
		}(w)
	}

	go func() { // closer
		fact("goid=%d role=closer", curGoid())
		workers.Wait()
		close(squares)
	}()

	go func() { // sink
		fact("goid=%d role=sink", curGoid())
		sum := 0
		for v := range squares {
			sum += v
		}
		result <- sum
	}()

	sum := <-result
	fact("chan name=nums sends=%d recvs=%d recv_closed=2 closes=1", n, n)
	fact("chan name=squares sends=%d recvs=%d recv_closed=1 closes=1", n, n)
	fact("chan name=result sends=1 recvs=1 recv_closed=0 closes=0")
	if want := n * (n + 1) * (2*n + 1) / 6; sum != want {
		fact("error msg=%q", fmt.Sprintf("sum %d != %d", sum, want))
		os.Exit(1)
	}
	fact("result sum=%d", sum)
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
