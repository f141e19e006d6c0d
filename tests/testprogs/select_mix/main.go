// select_mix — select statements with known per-case counts.
//
// Exercises: selectgo with several receive cases, with a send case, and with a
// default (non-blocking) case; closechan waking a select.
//
// Phase recv3: producers send exactly 10 / 20 / 30 values on unbuffered channels
// a / b / c; a closer goroutine closes done after all three producers returned.
// The consumer (main) loops on select { <-a; <-b; <-c; <-done }. Because the
// channels are unbuffered, every send has been received before done closes, so
// the counts are exact: 61 select executions (10 + 20 + 30 + 1).
//
// Phase send_or_stop: a producer loops on select { out <- i; <-stop }; a consumer
// receives exactly 15 values from out, then closes stop: 16 executions.
//
// Phase nonblocking: 5 times select { q <- i; r <- i; default } with cap(q)=2 and
// cap(r)=1 and nobody receiving: 2 + 1 sends, then 2 defaults.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=a|b|c|done|out|stop|q|r addr=<%p> cap=<c>
//	FACT goid=<g> role=producer chan=a|b|c count=<k>   (and role=closer, role=send_producer, role=send_consumer)
//	FACT select name=recv3 executions=61 case_a=10 case_b=20 case_c=30 case_done=1
//	FACT select name=send_or_stop executions=16 case_send=15 case_stop=1
//	FACT select name=nonblocking executions=5 case_q=2 case_r=1 default=2
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
	start("select_mix")

	// ---- phase recv3
	a, b, c := make(chan int), make(chan int), make(chan int)
	done := make(chan struct{})
	fact("chan name=a addr=%p cap=0", a)
	fact("chan name=b addr=%p cap=0", b)
	fact("chan name=c addr=%p cap=0", c)
	fact("chan name=done addr=%p cap=0", done)
	var producers sync.WaitGroup
	produce := func(name string, ch chan int, count int) {
		defer producers.Done()
		fact("goid=%d role=producer chan=%s count=%d", curGoid(), name, count)
		for i := 0; i < count; i++ {
			ch <- i
		}
	}
	producers.Add(3)
	go produce("a", a, 10)
	go produce("b", b, 20)
	go produce("c", c, 30)
	go func() {
		fact("goid=%d role=closer", curGoid())
		producers.Wait()
		close(done)
	}()
	var na, nb, nc, nd, execs int
loop:
	for {
		execs++
		select {
		case <-a:
			na++
		case <-b:
			nb++
		case <-c:
			nc++
		case <-done:
			nd++
			break loop
		}
	}
	fact("select name=recv3 executions=%d case_a=%d case_b=%d case_c=%d case_done=%d", execs, na, nb, nc, nd)

	// ---- phase send_or_stop
	out := make(chan int)
	stop := make(chan struct{})
	fact("chan name=out addr=%p cap=0", out)
	fact("chan name=stop addr=%p cap=0", stop)
	var sends, stops, execs2 int
	finished := make(chan struct{})
	go func() {
		fact("goid=%d role=send_producer", curGoid())
		for i := 0; ; i++ {
			execs2++
			select {
			case out <- i:
				sends++
			case <-stop:
				stops++
				close(finished)
				return
			}
		}
	}()
	go func() {
		fact("goid=%d role=send_consumer", curGoid())
		for i := 0; i < 15; i++ {
			<-out
		}
		close(stop)
	}()
	<-finished
	fact("select name=send_or_stop executions=%d case_send=%d case_stop=%d", execs2, sends, stops)

	// ---- phase nonblocking
	q, r := make(chan int, 2), make(chan int, 1)
	fact("chan name=q addr=%p cap=2", q)
	fact("chan name=r addr=%p cap=1", r)
	var nq, nr, ndef int
	for i := 0; i < 5; i++ {
		select {
		case q <- i:
			nq++
		case r <- i:
			nr++
		default:
			ndef++
		}
	}
	fact("select name=nonblocking executions=5 case_q=%d case_r=%d default=%d", nq, nr, ndef)

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
