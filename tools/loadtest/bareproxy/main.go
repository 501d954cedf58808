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
	flag.Parse()
	client := &fasthttp.HostClient{
		Addr:                *upstream,
		MaxConns:            512,
		MaxIdleConnDuration: 60 * time.Second,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		MaxResponseBodySize: 1 << 20,
	}
	handler := func(ctx *fasthttp.RequestCtx) {
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
	log.Printf("bareproxy: serving %s, forwarding to %s, GOMAXPROCS=%d", *listen, *upstream, runtime.GOMAXPROCS(0))
	log.Fatal(srv.ListenAndServe(*listen))
}
