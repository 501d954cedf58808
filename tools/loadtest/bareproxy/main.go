// Command bareproxy is the baseline of sdproxy's load test: a bare
// fasthttp forwarder that does nothing but pass requests to one upstream.
package main

import (
	"flag"
	"log"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9180", "address to serve")
	upstream := flag.String("upstream", "127.0.0.1:9190", "upstream host:port")
	flag.Parse()
	client := &fasthttp.HostClient{Addr: *upstream, MaxConns: 512, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	handler := func(ctx *fasthttp.RequestCtx) {
		req := &ctx.Request
		req.SetHost(*upstream)
		if err := client.Do(req, &ctx.Response); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadGateway)
		}
	}
	log.Fatal((&fasthttp.Server{Handler: handler, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}).ListenAndServe(*listen))
}
