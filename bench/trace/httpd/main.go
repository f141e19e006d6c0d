// Command httpd is the net/http server of bench/trace/run.sh, driven by wrk on
// loopback: each request takes a lock-protected hit counter, hands a small job to
// one of a few background workers over a channel and waits for its answer, then
// writes a 1 KiB body -- the goroutine, channel and lock traffic of a small service.
//
// It prints "ready pid=PID addr=HOST:PORT" on stdout once it listens, and serves
// until SIGINT or SIGTERM. With -runtime-trace FILE it runs Go's runtime/trace for
// its whole life (stopped and flushed at the signal).
//
//	httpd -addr 127.0.0.1:0 -runtime-trace trace.out
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/trace"
	"strconv"
	"sync"
	"syscall"
)

type request struct {
	path  string
	reply chan uint64
}

var (
	mu   sync.Mutex
	hits = map[string]int64{}
	work = make(chan request, 16)
	body = make([]byte, 1024)
)

// worker answers each request with a hash of its path.
//
//go:noinline
func worker() {
	for r := range work {
		h := fnv.New64a()
		h.Write([]byte(r.path)) //nolint:errcheck // hashes never fail
		r.reply <- h.Sum64()
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	hits[r.URL.Path]++
	n := hits[r.URL.Path]
	mu.Unlock()
	reply := make(chan uint64, 1)
	work <- request{path: r.URL.Path, reply: reply}
	sum := <-reply
	w.Header().Set("X-Hits", strconv.FormatInt(n, 10))
	w.Header().Set("X-Sum", strconv.FormatUint(sum, 16))
	w.Write(body) //nolint:errcheck // the client may be gone
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	workers := flag.Int("workers", 4, "background workers")
	traceFile := flag.String("runtime-trace", "", "run Go's runtime/trace for the whole run, into this file")
	flag.Parse()
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "httpd: runtime/trace:", err)
			os.Exit(2)
		}
		defer f.Close()
	}
	for i := 0; i < *workers; i++ {
		go worker()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handle)}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		srv.Close()
	}()
	fmt.Printf("ready pid=%d addr=%s\n", os.Getpid(), ln.Addr())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(1)
	}
	if *traceFile != "" {
		trace.Stop()
	}
	mu.Lock()
	var total int64
	for _, n := range hits {
		total += n
	}
	mu.Unlock()
	fmt.Printf("served requests=%d\n", total)
}
