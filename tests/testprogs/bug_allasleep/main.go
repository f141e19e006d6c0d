// bug_allasleep — BUG: every goroutine is blocked; Go's own detector aborts the program.
//
// This is the one program that deliberately lets the runtime's "all goroutines
// are asleep" check fire. After the optional stdin wait, a worker goroutine
// blocks receiving from c2 while main blocks sending on c1: nobody else exists
// (no timers, no network, no signal handling), so the runtime prints
// "fatal error: all goroutines are asleep - deadlock!" with both goroutines'
// stacks and exits with status 2 immediately. GOSCOPE_HOLD is ignored.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=c1 addr=<%p> cap=0
//	FACT chan name=c2 addr=<%p> cap=0
//	FACT goid=<w> role=worker blocks=recv on=c2
//	FACT goid=<main> role=main blocks=send on=c1
//	(no "FACT done")
//
// Expected end state: the process exits with status 2; stderr contains
// "fatal error: all goroutines are asleep - deadlock!", "goroutine 1 [chan send]:"
// and "goroutine <w> [chan receive]:".
package main

import (
	"sync"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	tp.Start("bug_allasleep")
	c1, c2 := make(chan int), make(chan int)
	tp.Fact("chan name=c1 addr=%p cap=0", c1)
	tp.Fact("chan name=c2 addr=%p cap=0", c2)
	var started sync.WaitGroup
	started.Add(1)
	go func() {
		tp.Fact("goid=%d role=worker blocks=recv on=c2", tp.CurGoid())
		started.Done()
		<-c2
		c1 <- 1
	}()
	started.Wait()
	tp.Fact("goid=%d role=main blocks=send on=c1", tp.CurGoid())
	c1 <- 1 // the worker is waiting on c2, not c1: everybody is asleep now
	<-c2
	tp.Fact("error msg=%q", "not deadlocked")
}
