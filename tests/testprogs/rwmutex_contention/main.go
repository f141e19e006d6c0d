// rwmutex_contention — sync.RWMutex contention with known goroutine counts.
//
// Exercises: RWMutex RLock/RUnlock/Lock/Unlock, readers parked behind a writer,
// a writer parked behind readers, and mixed load.
//
// Phase readers_wait: main holds rw.Lock(); 3 reader goroutines call rw.RLock()
// and park (reason "sync.RWMutex.RLock" on Go >= 1.21 in the matrix, "semacquire" on 1.19);
// main prints them and unlocks.
//
// Phase writer_wait: 2 reader goroutines take rw.RLock() and hold it; a writer
// goroutine calls rw.Lock() and parks (reason "sync.RWMutex.Lock" / 1.19
// "semacquire"); main prints it and lets the readers RUnlock.
//
// Phase load: 4 readers do M RLock/RUnlock each, 2 writers do M/10 Lock/Unlock
// each (M = GOSCOPE_N, default 1000), all at once.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT rwmutex name=rw addr=<%p>
//	FACT goid=<g> role=reader phase=readers_wait                        (x3)
//	FACT blocked goid=<g> reason=<"sync.RWMutex.RLock"|"semacquire"> on=rw (x3)
//	FACT rwmutex name=rw addr=<%p> writer=<main goid> blocked_readers=3
//	FACT goid=<g> role=reader phase=writer_wait                         (x2)
//	FACT goid=<g> role=writer phase=writer_wait
//	FACT blocked goid=<g> reason=<"sync.RWMutex.Lock"|"semacquire"> on=rw
//	FACT rwmutex name=rw addr=<%p> readers=2 blocked_writer=<g>
//	FACT rwmutex name=rw addr=<%p> phase=load readers=4 writers=2 rlocks=4M locks=2*(M/10) value=2*(M/10)
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
	m := envInt("GOSCOPE_N", 1000)
	start("rwmutex_contention")
	mainGoid := curGoid()

	var rw sync.RWMutex
	fact("rwmutex name=rw addr=%p", &rw)

	// ---- phase readers_wait
	rw.Lock()
	announce := make(chan int64, 3)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := curGoid()
			fact("goid=%d role=reader phase=readers_wait", id)
			announce <- id
			rw.RLock()
			rw.RUnlock()
		}()
	}
	ids := []int64{<-announce, <-announce, <-announce}
	states := waitBlocked(ids)
	for _, id := range ids {
		fact("blocked goid=%d reason=%q on=rw", id, states[id])
	}
	fact("rwmutex name=rw addr=%p writer=%d blocked_readers=3", &rw, mainGoid)
	rw.Unlock()
	wg.Wait()

	// ---- phase writer_wait
	held := make(chan struct{}, 2)
	release := make(chan struct{})
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fact("goid=%d role=reader phase=writer_wait", curGoid())
			rw.RLock()
			held <- struct{}{}
			<-release
			rw.RUnlock()
		}()
	}
	<-held
	<-held
	wg.Add(1)
	go func() {
		defer wg.Done()
		id := curGoid()
		fact("goid=%d role=writer phase=writer_wait", id)
		announce <- id
		rw.Lock()
		rw.Unlock()
	}()
	w := <-announce
	fact("blocked goid=%d reason=%q on=rw", w, waitBlocked([]int64{w})[w])
	fact("rwmutex name=rw addr=%p readers=2 blocked_writer=%d", &rw, w)
	close(release)
	wg.Wait()

	// ---- phase load
	value := 0
	begin := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			s := 0
			for j := 0; j < m; j++ {
				rw.RLock()
				s += value
				rw.RUnlock()
			}
			_ = s
		}()
	}
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			for j := 0; j < m/10; j++ {
				rw.Lock()
				value++
				rw.Unlock()
				runtime.Gosched()
			}
		}()
	}
	close(begin)
	wg.Wait()
	fact("rwmutex name=rw addr=%p phase=load readers=4 writers=2 rlocks=%d locks=%d value=%d", &rw, 4*m, 2*(m/10), value)

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
