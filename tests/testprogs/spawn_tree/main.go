// spawn_tree — a goroutine creation tree with known parents.
//
// Exercises: newproc/newproc1 (creator = parent), goroutine exit (goexit1), and
// an attach-time snapshot of a tree of live goroutines.
//
// main (depth 0) starts 3 children (depth 1); each child starts 2 grandchildren
// (depth 2): 9 goroutines in all. Every goroutine receives its parent's goid as an
// argument and prints its own goid with it. When all 9 exist, main prints
// "settled", keeps them alive (blocked in receive on the release channel) for
// GOSCOPE_HOLD seconds (default 0), then releases them; all 9 exit.
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT spawn goid=<child> parent=<parent goid> depth=<1|2> idx=<i>     (x9)
//	FACT settled alive=9 children=3 grandchildren=6
//	FACT spawn_total count=9
//	FACT done
//
// End state: all 9 goroutines have exited; exits 0 after "FACT done".
package main

import (
	"sync"
	"time"

	"goscope.test/testprogs/internal/tp"
)

var (
	created sync.WaitGroup // one Done per goroutine, once it has printed its fact
	exited  sync.WaitGroup
	release = make(chan struct{})
)

func node(parent int64, depth, idx int) {
	defer exited.Done()
	me := tp.CurGoid()
	tp.Fact("spawn goid=%d parent=%d depth=%d idx=%d", me, parent, depth, idx)
	if depth < 2 {
		for i := 0; i < 2; i++ {
			created.Add(1)
			exited.Add(1)
			go node(me, depth+1, i)
		}
	}
	created.Done()
	<-release
}

func main() {
	tp.Start("spawn_tree")
	me := tp.CurGoid()
	for i := 0; i < 3; i++ {
		created.Add(1)
		exited.Add(1)
		go node(me, 1, i)
	}
	created.Wait()
	tp.Fact("settled alive=9 children=3 grandchildren=6")
	time.Sleep(tp.HoldDuration(0))
	close(release)
	exited.Wait()
	tp.Fact("spawn_total count=9")
	tp.Fact("done")
}
