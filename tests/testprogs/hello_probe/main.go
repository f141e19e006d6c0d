// hello_probe — the first privileged end-to-end test of goscope.
//
// Exercises: goroutine creation, goroutine ids read from R14, chansend/chanrecv on
// one unbuffered channel. After the optional stdin wait (GOSCOPE_WAIT_STDIN=1) the
// program makes one unbuffered channel, starts one receiver and one sender
// goroutine; the sender does exactly K sends (GOSCOPE_K, default 5) and the
// receiver exactly K receives. No other channel operation happens after "ready";
// main waits with a sync.WaitGroup (semaphores, not channels). The channel is
// never closed. GOSCOPE_DEPTH=D (default 0): the receiver does its receives D
// calls deep in main.deep, for stacks deeper than goscope records.
//
// Facts (stdout), in this order except that the two goroutine lines may swap:
//
//	FACT start prog=hello_probe pid=<pid> go=<runtime.Version()>
//	FACT goid=<n> role=main
//	FACT ready pid=<pid>                          (only with GOSCOPE_WAIT_STDIN=1)
//	FACT chan name=ch addr=<%p> cap=0
//	FACT goid=<r> role=receiver
//	FACT goid=<s> role=sender
//	FACT chan name=ch addr=<%p> cap=0 sends=<K> recvs=<K> closes=0 sender=<s> receiver=<r>
//	FACT done
//
// End state: exits 0 right after "FACT done".
package main

import (
	"sync"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	k := tp.EnvInt("GOSCOPE_K", 5)
	depth := tp.EnvInt("GOSCOPE_DEPTH", 0)
	tp.Start("hello_probe")

	ch := make(chan int)
	tp.Fact("chan name=ch addr=%p cap=0", ch)
	var wg sync.WaitGroup
	var sender, receiver int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		receiver = tp.CurGoid()
		tp.Fact("goid=%d role=receiver", receiver)
		if depth > 0 {
			deep(depth, func() {
				for i := 0; i < k; i++ {
					<-ch
				}
			})
			return
		}
		for i := 0; i < k; i++ {
			<-ch
		}
	}()
	go func() {
		defer wg.Done()
		sender = tp.CurGoid()
		tp.Fact("goid=%d role=sender", sender)
		for i := 0; i < k; i++ {
			ch <- i
		}
	}()
	wg.Wait()
	tp.Fact("chan name=ch addr=%p cap=0 sends=%d recvs=%d closes=0 sender=%d receiver=%d", ch, k, k, sender, receiver)
	tp.Fact("done")
}

// deep calls f d calls further down the stack.
//
//go:noinline
func deep(d int, f func()) {
	if d <= 0 {
		f()
		return
	}
	deep(d-1, f)
}
