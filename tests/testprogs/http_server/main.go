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
// returns its value; /sleep?ms=N -> sleeps N ms (bounded to 10 s), returns "slept\n";
// /quit -> "bye\n" and, in serve mode, ends the hold now (a clean shutdown, exit 0).
//
// Facts:
//
//	FACT start ... / FACT goid=<n> role=main / [FACT ready pid=<pid>]
//	FACT listen addr=127.0.0.1:<port> port=<port>
//	FACT mutex name=counter addr=<%p>
//	load mode:  FACT load requests=N ok=N errors=0 concurrency=C elapsed_ms=<t> rps=<r>
//	            FACT counter value=N
//	serve mode: FACT serving hold_s=<seconds>       (then serves until the hold ends or /quit)
//	FACT shutdown requests_served=<count of /count requests>
//	FACT done
//
// End state: listener closed, exits 0 after "FACT done". Serve mode ends after
// GOSCOPE_HOLD seconds (default 30); load mode as soon as the N requests are done.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"goscope.test/testprogs/internal/tp"
)

type counter struct {
	mu sync.Mutex
	n  int
}

func main() {
	port := flag.Int("port", tp.EnvInt("GOSCOPE_PORT", 0), "port on 127.0.0.1 (0 = pick one)")
	load := flag.Int("load", tp.EnvInt("GOSCOPE_LOAD", 0), "requests to send to itself, then exit (0 = serve for GOSCOPE_HOLD)")
	conc := flag.Int("concurrency", tp.EnvInt("GOSCOPE_CONCURRENCY", 4), "client goroutines in load mode")
	flag.Parse()
	if *conc < 1 {
		*conc = 1
	}
	tp.Start("http_server")

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
	quit := make(chan struct{})
	var quitOnce sync.Once
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye\n")
		quitOnce.Do(func() { close(quit) })
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
		tp.Fact("error msg=%q", err.Error())
		os.Exit(1)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	tp.Fact("listen addr=127.0.0.1:%d port=%d", p, p)
	tp.Fact("mutex name=counter addr=%p", &cnt.mu)

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
		tp.Fact("load requests=%d ok=%d errors=%d concurrency=%d elapsed_ms=%d rps=%.0f",
			*load, ok, bad, *conc, el.Milliseconds(), float64(*load)/el.Seconds())
		cnt.mu.Lock()
		tp.Fact("counter value=%d", cnt.n)
		cnt.mu.Unlock()
		client.CloseIdleConnections()
	} else {
		hold := tp.HoldDuration(30 * time.Second)
		tp.Fact("serving hold_s=%g", hold.Seconds())
		select {
		case <-time.After(hold):
		case <-quit:
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	<-served
	cnt.mu.Lock()
	tp.Fact("shutdown requests_served=%d", cnt.n)
	cnt.mu.Unlock()
	tp.StopRuntimeTrace()
	tp.Fact("done")
}
