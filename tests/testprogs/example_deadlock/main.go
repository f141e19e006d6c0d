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
	"log"
	"sync"
	"sync/atomic"
	"time"

	"goscope.test/testprogs/internal/tp"
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
	tp.Fact("goid=%d role=worker idx=%d", tp.CurGoid(), idx)
	for j := range jobs {
		transfer(j.from, j.to, j.amount)
	}
}

func producer(jobs chan<- Job, alice, bob *Account) {
	tp.Fact("goid=%d role=producer", tp.CurGoid())
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
	tp.Fact("goid=%d role=reporter", tp.CurGoid())
	last, lastChange, stalled := int64(-1), time.Now(), false
	for {
		time.Sleep(250 * time.Millisecond)
		n := atomic.LoadInt64(&completed)
		if n != last {
			log.Printf("progress: %d transfers completed", n)
			last, lastChange = n, time.Now()
		} else if !stalled && time.Since(lastChange) > time.Second {
			log.Printf("WARNING: no transfer completed for %v — service stalled", time.Since(lastChange).Round(time.Second))
			tp.Fact("stalled transfers=%d", n)
			stalled = true
		}
	}
}

func main() {
	hold := tp.HoldDuration(300 * time.Second)
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	tp.Start("example_deadlock")

	alice := &Account{name: "alice", balance: 1000}
	bob := &Account{name: "bob", balance: 1000}
	tp.Fact("mutex name=alice addr=%p", &alice.mu)
	tp.Fact("mutex name=bob addr=%p", &bob.mu)
	jobs := make(chan Job, 16)
	tp.Fact("chan name=jobs addr=%p cap=16", jobs)

	for i := 0; i < 4; i++ {
		go worker(i, jobs)
	}
	go producer(jobs, alice, bob)
	go reporter()

	time.Sleep(hold)
	tp.Fact("done")
}
