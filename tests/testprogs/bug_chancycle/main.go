// bug_chancycle — BUG: two goroutines deadlocked in a channel cycle.
//
// Goroutine "x" does `c1 <- 1` then `<-c2`; goroutine "y" does `c2 <- 1` then
// `<-c1`. Both channels are unbuffered, so each blocks forever in its send,
// waiting for the other to receive. Main stays alive in time.Sleep for
// GOSCOPE_HOLD seconds (default 30), then exits 0.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT chan name=c1 addr=<%p> cap=0
//	FACT chan name=c2 addr=<%p> cap=0
//	FACT goid=<x> role=x sends=c1 then_recvs=c2
//	FACT goid=<y> role=y sends=c2 then_recvs=c1
//	FACT blocked goid=<x> reason="chan send" on=c1 waits_for=<y>
//	FACT blocked goid=<y> reason="chan send" on=c2 waits_for=<x>
//	FACT settled kind=chancycle blocked=2 cycle=<x>,<y>
//	FACT done                                   (after GOSCOPE_HOLD seconds)
//
// Expected end state while held: x parked in chansend on c1, y parked in chansend
// on c2 (each channel has one waiting sender, no receiver); cycle {x, y}.
package main

import (
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	hold := tp.HoldDuration(30 * time.Second)
	tp.Start("bug_chancycle")
	c1, c2 := make(chan int), make(chan int)
	tp.Fact("chan name=c1 addr=%p cap=0", c1)
	tp.Fact("chan name=c2 addr=%p cap=0", c2)

	announce := make(chan int64, 2)
	go func() {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=x sends=c1 then_recvs=c2", id)
		announce <- id
		c1 <- 1
		<-c2
	}()
	x := <-announce
	go func() {
		id := tp.CurGoid()
		tp.Fact("goid=%d role=y sends=c2 then_recvs=c1", id)
		announce <- id
		c2 <- 1
		<-c1
	}()
	y := <-announce

	st := tp.WaitBlocked([]int64{x, y})
	tp.Fact("blocked goid=%d reason=%q on=c1 waits_for=%d", x, st[x], y)
	tp.Fact("blocked goid=%d reason=%q on=c2 waits_for=%d", y, st[y], x)
	tp.Fact("settled kind=chancycle blocked=2 cycle=%d,%d", x, y)

	time.Sleep(hold)
	tp.Fact("done")
}
