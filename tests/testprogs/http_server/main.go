// http_server — a small net/http server on 127.0.0.1, with a bounded self-load mode.
//
// Exercises: a realistic goroutine mix (accept loop, per-connection goroutines,
// netpoll waits "IO wait", keep-alive clients), a mutex taken by every /count
// request, and throughput under tracing.
//
// Flags / environment:
//
//	-port P         (env GOSCOPE_PORT, default 0 = let the kernel pick) listen on 127.0.0.1:P
//	-load N         (env GOSCOPE_LOAD, default 0) send N GET /count requests to itself,
//	                then shut down and exit; 0 = just serve for GOSCOPE_HOLD seconds
//	-concurrency C  (env GOSCOPE_CONCURRENCY, default 4) client goroutines in load mode
//
// Endpoints: /hello -> "hello\n"; /count -> increments a mutex-protected counter and
// returns its value; /sleep?ms=N -> sleeps N ms (bounded to 10 s), returns "slept\n".
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT listen addr=127.0.0.1:<port> port=<port>
//	FACT mutex name=counter addr=<%p>
//	load mode:  FACT load requests=N ok=N errors=0 concurrency=C elapsed_ms=<t> rps=<r>
//	            FACT counter value=N
//	serve mode: FACT serving hold_s=<seconds>       (then serves until the hold ends)
//	FACT shutdown requests_served=<count of /count requests>
//	FACT done
//
// End state: listener closed, exits 0 after "FACT done". Serve mode ends after
// GOSCOPE_HOLD seconds (default 30); load mode as soon as the N requests are done.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type counter struct {
	mu sync.Mutex
	n  int
}

func main() {
	port := flag.Int("port", envInt("GOSCOPE_PORT", 0), "port on 127.0.0.1 (0 = pick one)")
	load := flag.Int("load", envInt("GOSCOPE_LOAD", 0), "requests to send to itself, then exit (0 = serve for GOSCOPE_HOLD)")
	conc := flag.Int("concurrency", envInt("GOSCOPE_CONCURRENCY", 4), "client goroutines in load mode")
	flag.Parse()
	if *conc < 1 {
		*conc = 1
	}
	start("http_server")

	var cnt counter
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		cnt.mu.Lock()
		cnt.n++
		v := cnt.n
		cnt.mu.Unlock()
		fmt.Fprintf(w, "%d\n", v)
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		if ms < 0 {
			ms = 0
		}
		if ms > 10000 {
			ms = 10000
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		io.WriteString(w, "slept\n")
	})

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fact("error msg=%q", err.Error())
		os.Exit(1)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	fact("listen addr=127.0.0.1:%d port=%d", p, p)
	fact("mutex name=counter addr=%p", &cnt.mu)

	srv := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if *load > 0 {
		url := fmt.Sprintf("http://127.0.0.1:%d/count", p)
		client := &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: *conc, DisableCompression: true},
			Timeout:   10 * time.Second,
		}
		var next, ok, bad int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := 0; i < *conc; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for atomic.AddInt64(&next, 1) <= int64(*load) {
					resp, err := client.Get(url)
					if err != nil {
						atomic.AddInt64(&bad, 1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						atomic.AddInt64(&ok, 1)
					} else {
						atomic.AddInt64(&bad, 1)
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(t0)
		fact("load requests=%d ok=%d errors=%d concurrency=%d elapsed_ms=%d rps=%.0f",
			*load, ok, bad, *conc, el.Milliseconds(), float64(*load)/el.Seconds())
		cnt.mu.Lock()
		fact("counter value=%d", cnt.n)
		cnt.mu.Unlock()
		client.CloseIdleConnections()
	} else {
		hold := holdDuration(30 * time.Second)
		fact("serving hold_s=%g", hold.Seconds())
		time.Sleep(hold)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	<-served
	cnt.mu.Lock()
	fact("shutdown requests_served=%d", cnt.n)
	cnt.mu.Unlock()
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
