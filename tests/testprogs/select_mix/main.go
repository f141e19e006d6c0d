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
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

func main() {
	tp.Start("select_mix")

	// ---- phase recv3
	a, b, c := make(chan int), make(chan int), make(chan int)
	done := make(chan struct{})
	tp.Fact("chan name=a addr=%p cap=0", a)
	tp.Fact("chan name=b addr=%p cap=0", b)
	tp.Fact("chan name=c addr=%p cap=0", c)
	tp.Fact("chan name=done addr=%p cap=0", done)
	var producers sync.WaitGroup
	produce := func(name string, ch chan int, count int) {
		defer producers.Done()
		tp.Fact("goid=%d role=producer chan=%s count=%d", tp.CurGoid(), name, count)
		for i := 0; i < count; i++ {
			ch <- i
		}
	}
	producers.Add(3)
	go produce("a", a, 10)
	go produce("b", b, 20)
	go produce("c", c, 30)
	go func() {
		tp.Fact("goid=%d role=closer", tp.CurGoid())
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
	tp.Fact("select name=recv3 executions=%d case_a=%d case_b=%d case_c=%d case_done=%d", execs, na, nb, nc, nd)

	// ---- phase send_or_stop
	out := make(chan int)
	stop := make(chan struct{})
	tp.Fact("chan name=out addr=%p cap=0", out)
	tp.Fact("chan name=stop addr=%p cap=0", stop)
	var sends, stops, execs2 int
	finished := make(chan struct{})
	go func() {
		tp.Fact("goid=%d role=send_producer", tp.CurGoid())
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
		tp.Fact("goid=%d role=send_consumer", tp.CurGoid())
		for i := 0; i < 15; i++ {
			<-out
		}
		close(stop)
	}()
	<-finished
	tp.Fact("select name=send_or_stop executions=%d case_send=%d case_stop=%d", execs2, sends, stops)

	// ---- phase nonblocking
	q, r := make(chan int, 2), make(chan int, 1)
	tp.Fact("chan name=q addr=%p cap=2", q)
	tp.Fact("chan name=r addr=%p cap=1", r)
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
	tp.Fact("select name=nonblocking executions=5 case_q=%d case_r=%d default=%d", nq, nr, ndef)

	time.Sleep(tp.HoldDuration(0))
	tp.Fact("done")
}
