// Command upstream is the load test's upstream: it answers every request
// with 200 and a small JSON body, and does nothing else, so that the
// proxies in front of it are what the load test compares.
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
	listen := flag.String("listen", "127.0.0.1:9190", "address to serve")
	flag.Parse()
	body := []byte(`{"ok":true}`)
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
	srv := &fasthttp.Server{
		Handler:            handler,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: 1 << 20,
	}
	log.Printf("upstream: serving %s, GOMAXPROCS=%d", *listen, runtime.GOMAXPROCS(0))
	log.Fatal(srv.ListenAndServe(*listen))
}
