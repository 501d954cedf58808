// Command upstream is the load test's upstream: it answers every request
// with 200 and a small JSON body.
package main

import (
	"flag"
	"log"
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
	log.Fatal((&fasthttp.Server{Handler: handler, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}).ListenAndServe(*listen))
}
