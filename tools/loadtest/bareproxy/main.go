// Command bareproxy is the baseline of sdproxy's load test: a bare
// fasthttp forwarder that does nothing but pass requests to one upstream
// over kept-alive connections. It shares no code with sdproxy.
//
// It runs on as many threads as GOMAXPROCS allows (the load test sets 1).
package main

import (
	"flag"
	"log"
	"runtime"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9180", "address to serve")
	upstream := flag.String("upstream", "127.0.0.1:9190", "upstream host:port")
	work := flag.Duration("work", 0, "CPU time to spend per request before forwarding (e.g. 5us): the cost of a proxy's own work, to see what a given amount does to the rates")
	flag.Parse()
	spin := calibrate(*work)
	client := &fasthttp.HostClient{
		Addr:                *upstream,
		MaxConns:            512,
		MaxIdleConnDuration: 60 * time.Second,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		MaxResponseBodySize: 1 << 20,
	}
	handler := func(ctx *fasthttp.RequestCtx) {
		if spin > 0 {
			sink += burn(spin)
		}
		ctx.Request.SetHost(*upstream)
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadGateway)
		}
	}
	srv := &fasthttp.Server{
		Handler:            handler,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: 1 << 20,
	}
	log.Printf("bareproxy: serving %s, forwarding to %s, GOMAXPROCS=%d, work %v per request (%d rounds)", *listen, *upstream, runtime.GOMAXPROCS(0), *work, spin)
	log.Fatal(srv.ListenAndServe(*listen))
}

// sink keeps burn's result alive so the compiler keeps its loop.
var sink uint64

// burn runs n rounds of a cheap integer mix: CPU work with no memory
// traffic and no system call.
func burn(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// calibrate returns how many rounds of burn take about d of CPU.
func calibrate(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const n = 1 << 22
	best := time.Duration(1 << 62)
	for range 5 {
		t0 := time.Now()
		sink += burn(n)
		best = min(best, time.Since(t0))
	}
	return int(float64(n) * float64(d) / float64(best))
}
