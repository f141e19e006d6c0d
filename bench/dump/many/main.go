// Command many parks N goroutines in a realistic mix of blocking states, so that
// `goscope dump` (and Go's own SIGQUIT dump) can be timed on a big process.
//
// Mix (of N): about 88% receive from a channel at stack depths 0..7 (eight
// distinct stacks), 4% send on a full channel, 3% wait in a select on two
// channels, 2% block on a sync.Mutex held by main, 2% sleep, 1% wait on a
// sync.WaitGroup. It prints "ready" on stdout once every goroutine has reached
// its blocking call (and a GC ran, so wait times are recorded), then holds until
// stdin is closed or -timeout passes.
//
//	go run main.go -n 100000 < fifo
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	parked  atomic.Int64
	recvCh  = make(chan int)    // nobody sends until exit
	sendCh  = make(chan int)    // nobody receives
	selA    = make(chan int)    // select waits on both
	selB    = make(chan string) //
	mu      sync.Mutex          // held by main
	wg      sync.WaitGroup      // never done
	release = make(chan struct{})
)

// recvAt blocks in a channel receive d frames below the goroutine's entry.
//
//go:noinline
func recvAt(d int) int {
	if d > 0 {
		return recvAt(d-1) + 1
	}
	parked.Add(1)
	return <-recvCh
}

//go:noinline
func sender(i int) {
	parked.Add(1)
	sendCh <- i
}

//go:noinline
func selecter() {
	parked.Add(1)
	select {
	case <-selA:
	case <-selB:
	case <-release:
	}
}

//go:noinline
func locker() {
	parked.Add(1)
	mu.Lock()
	mu.Unlock() //nolint:staticcheck // empty critical section on purpose
}

//go:noinline
func sleeper() {
	parked.Add(1)
	time.Sleep(24 * time.Hour)
}

//go:noinline
func waiter() {
	parked.Add(1)
	wg.Wait()
}

func main() {
	n := flag.Int("n", 1000, "goroutines to park (also env MANY_N)")
	timeout := flag.Duration("timeout", 15*time.Minute, "exit after this long even if stdin stays open")
	flag.Parse()
	if v := os.Getenv("MANY_N"); v != "" {
		if _, err := fmt.Sscan(v, n); err != nil {
			fmt.Fprintln(os.Stderr, "many: bad MANY_N:", v)
			os.Exit(2)
		}
	}

	mu.Lock()
	wg.Add(1)
	for i := 0; i < *n; i++ {
		switch r := i % 100; {
		case r < 4:
			go sender(i)
		case r < 7:
			go selecter()
		case r < 9:
			go locker()
		case r < 11:
			go sleeper()
		case r < 12:
			go waiter()
		default:
			go recvAt(i % 8)
		}
	}
	// Every goroutine counts itself just before its blocking call; then give
	// the last ones time to actually park, and run a GC so that the runtime
	// records how long each has been waiting.
	for parked.Load() < int64(*n) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("ready %d goroutines (pid %d)\n", runtime.NumGoroutine(), os.Getpid())

	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin) //nolint:errcheck // EOF or error both mean: stop
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(*timeout):
		fmt.Fprintln(os.Stderr, "many: timeout")
	}
}
