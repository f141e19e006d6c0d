// example_deadlock — the demo program in goscope's README: a small "bank" service
// that ends in an AB-BA deadlock after a moment.
//
// The story: two accounts (alice, bob), each protected by its own sync.Mutex. A
// pool of 4 workers takes transfer jobs from a queue. transfer(from, to) locks
// from, writes an audit record (a 2 ms sleep standing in for I/O), then locks to
// — the classic lock-ordering bug. For the first second traffic is light (one
// transfer every 20 ms, alternating directions), so transfers never overlap and
// everything works. Then a "settlement batch" arrives: bursts of transfers in
// both directions at once. Two workers soon each hold one account and wait for
// the other: alice->bob holds alice and wants bob, bob->alice holds bob and wants
// alice. The other workers pile up behind the same two mutexes, the job queue
// fills and the producer blocks on it.
//
// A progress reporter goroutine logs the number of completed transfers every
// 250 ms (to stderr) and, once nothing has moved for a second, says that the
// service is stalled. Because it sleeps in a loop, Go's "all goroutines are
// asleep" detector never fires: like a real service, the process just hangs.
// It exits by itself after GOSCOPE_HOLD seconds (default 300), or on Ctrl-C.
//
// Try:   ./example_deadlock &  sleep 2;  sudo goscope dump -p $!
//
// Facts (stdout):
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT mutex name=alice addr=<%p>
//	FACT mutex name=bob addr=<%p>
//	FACT chan name=jobs addr=<%p> cap=16
//	FACT goid=<g> role=worker idx=<i>        (x4)
//	FACT goid=<g> role=producer              FACT goid=<g> role=reporter
//	FACT stalled transfers=<n>               (once progress stopped for 1 s)
//	FACT done                                (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: two workers deadlocked in sync.(*Mutex).Lock
// (one on alice's mutex while holding bob's, one on bob's while holding alice's);
// the other two workers blocked in Lock on one of those mutexes; the producer
// blocked sending on the full jobs channel; the reporter and main sleeping.
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type Account struct {
	mu      sync.Mutex
	name    string
	balance int
}

type Job struct {
	from, to *Account
	amount   int
}

var completed int64

func audit(from, to *Account, amount int) {
	time.Sleep(2 * time.Millisecond) // pretend to write an audit record
}

// transfer moves amount from one account to the other.
// BUG: locks are taken in argument order, so opposite transfers deadlock.
func transfer(from, to *Account, amount int) {
	from.mu.Lock()
	defer from.mu.Unlock()
	audit(from, to, amount)
	to.mu.Lock()
	defer to.mu.Unlock()
	from.balance -= amount
	to.balance += amount
	atomic.AddInt64(&completed, 1)
}

func worker(idx int, jobs <-chan Job) {
	fact("goid=%d role=worker idx=%d", curGoid(), idx)
	for j := range jobs {
		transfer(j.from, j.to, j.amount)
	}
}

func producer(jobs chan<- Job, alice, bob *Account) {
	fact("goid=%d role=producer", curGoid())
	// Light traffic: one transfer at a time.
	for i := 0; i < 50; i++ {
		if i%2 == 0 {
			jobs <- Job{alice, bob, 10}
		} else {
			jobs <- Job{bob, alice, 10}
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Printf("settlement batch started")
	// Settlement batch: bursts in both directions.
	for burst := 2; ; burst++ {
		for i := 0; i < burst; i++ {
			jobs <- Job{alice, bob, 1}
			jobs <- Job{bob, alice, 1}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func reporter() {
	fact("goid=%d role=reporter", curGoid())
	last, lastChange, stalled := int64(-1), time.Now(), false
	for {
		time.Sleep(250 * time.Millisecond)
		n := atomic.LoadInt64(&completed)
		if n != last {
			log.Printf("progress: %d transfers completed", n)
			last, lastChange = n, time.Now()
		} else if !stalled && time.Since(lastChange) > time.Second {
			log.Printf("WARNING: no transfer completed for %v — service stalled", time.Since(lastChange).Round(time.Second))
			fact("stalled transfers=%d", n)
			stalled = true
		}
	}
}

func main() {
	hold := holdDuration(300 * time.Second)
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	start("example_deadlock")

	alice := &Account{name: "alice", balance: 1000}
	bob := &Account{name: "bob", balance: 1000}
	fact("mutex name=alice addr=%p", &alice.mu)
	fact("mutex name=bob addr=%p", &bob.mu)
	jobs := make(chan Job, 16)
	fact("chan name=jobs addr=%p cap=16", jobs)

	for i := 0; i < 4; i++ {
		go worker(i, jobs)
	}
	go producer(jobs, alice, bob)
	go reporter()

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
