// offsets-probe: a small program whose only job is to make the Go linker keep
// (and emit DWARF for) every runtime and sync type goscope reads, so that
// tools/gen-offsets-table.sh can extract their layouts for each Go version.
package main

import (
	"fmt"
	"sync"
	"time"
)

func main() {
	var mu sync.Mutex
	var rw sync.RWMutex
	var wg sync.WaitGroup
	cond := sync.NewCond(&mu)
	ch := make(chan int, 1)
	done := make(chan struct{})
	ready := false

	wg.Add(2)
	go func() {
		defer wg.Done()
		mu.Lock()
		for !ready {
			cond.Wait()
		}
		mu.Unlock()
		ch <- 1
	}()
	go func() {
		defer wg.Done()
		rw.RLock()
		rw.RUnlock()
		rw.Lock()
		rw.Unlock()
		mu.Lock()
		ready = true
		cond.Broadcast()
		mu.Unlock()
	}()
	select {
	case v := <-ch:
		fmt.Println("got", v)
	case <-time.After(5 * time.Second):
		fmt.Println("timeout")
	}
	wg.Wait()
	close(done)
	<-done
}
