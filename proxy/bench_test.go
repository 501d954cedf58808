package proxy

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/keystore"
)

// Benchmarks of the Smart Data Proxy. The baseline is pass-through (auth,
// rate limit, forward, no field); the others add two encrypted fields of a
// ~300-byte body, with and without forwarding. The Network ones go through
// the in-memory listener and an in-memory upstream, so they include
// fasthttp's client and servers; the Handler ones call Data.Handler on a
// prepared RequestCtx, so their allocations are the data plane's alone
// (plus the in-memory upstream it forwards to).

// rtBody300 is a ~300-byte order with two sensitive fields, rtFields300.
const rtBody300 = `{"id":"ord_8f2k3m9q1x","customer":{"name":"Ann Example","email":"ann@example.com",` +
	`"ssn":"123-45-6789"},"card":"4111 1111 1111 1111","items":[{"sku":"A-100","qty":2,"price":19.99},` +
	`{"sku":"B-700","qty":1,"price":5.5}],"shipping":{"street":"1 Main St","city":"Springfield","zip":"12345"},` +
	`"note":"leave at the door"}`

const rtFields300 = "customer.ssn,card"

// rtBenchUpstream is a minimal fasthttp upstream answering 200 {} without
// allocating, so it adds nothing to the data plane's numbers.
func (e *rtEnv) benchUpstream(addr string) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBodyString("{}")
		},
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		Logger:                rtQuiet{},
	}
	go srv.Serve(ln)
	e.t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
	})
	e.mu.Lock()
	e.dialers[addr] = ln.Dial
	e.mu.Unlock()
}

// rtBenchCase is one kind of request of the benchmarks.
type rtBenchCase struct {
	name    string
	forward bool   // to the project's upstream; else the bare /proxy/{p}
	fields  string // X-Qanapi-Fields, "" for none
	body    string
}

var rtBenchCases = []rtBenchCase{
	{"passthrough", true, "", rtBody300},
	{"fields", true, rtFields300, rtBody300},
	{"fields-noforward", false, rtFields300, rtBody300},
}

// rtBenchEnv is an env with a real clock (a frozen one would empty the
// token bucket), a fast upstream and a project with a key.
func rtBenchEnv(tb testing.TB) (e *rtEnv, project, key string) {
	tb.Helper()
	e = newRTEnv(tb, rtOptions{realClock: true})
	e.benchUpstream("bench.test:80")
	p := e.project("http://bench.test/api")
	return e, p.ID, e.key(p.ID, keystore.KeyInput{})
}

// rtRawRequest is the request of c as a client sends it.
func rtRawRequest(c rtBenchCase, project, key string) string {
	path := "/proxy/" + project
	if c.forward {
		path += "/orders/42?expand=items"
	}
	lines := []string{
		rtStatusLine("POST", path),
		"Host: sdproxy.example",
		"User-Agent: bench/1.0",
		"Content-Type: application/json",
		"Authorization: Bearer upstream-token",
		HeaderAuthorization + ": " + key,
	}
	if c.fields != "" {
		lines = append(lines, HeaderFields+": "+c.fields)
	}
	lines = append(lines, "Content-Length: "+rtItoa(len(c.body)), "", c.body)
	return strings.Join(lines, "\r\n")
}

func BenchmarkProxyNetwork(b *testing.B) {
	for _, c := range rtBenchCases {
		b.Run(c.name, func(b *testing.B) {
			e, project, key := rtBenchEnv(b)
			var tmpl fasthttp.Request
			if err := tmpl.Read(bufio.NewReader(strings.NewReader(rtRawRequest(c, project, key)))); err != nil {
				b.Fatal(err)
			}
			client := &fasthttp.HostClient{
				Addr:                     "sdproxy",
				Dial:                     func(string) (net.Conn, error) { return e.ln.DialWithLocalAddr(rtClientAddr) },
				NoDefaultUserAgentHeader: true,
				MaxConns:                 1024,
			}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				for pb.Next() {
					tmpl.CopyTo(req)
					if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
						b.Errorf("%s = %d %s %v, want 200", c.name, resp.StatusCode(), resp.Body(), err)
						return
					}
				}
			})
		})
	}
}

// rtRig calls Data.Handler directly on one reused RequestCtx whose
// request is re-set from a template each time: no client, no listener in
// front, so what allocates is the data plane (and the in-memory upstream
// it forwards to).
type rtRig struct {
	data *Data
	tmpl fasthttp.Request
	ctx  fasthttp.RequestCtx
}

func newRTRig(tb testing.TB, c rtBenchCase) *rtRig {
	tb.Helper()
	e, project, key := rtBenchEnv(tb)
	r := &rtRig{data: e.data}
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(rtRawRequest(c, project, key)))); err != nil {
		tb.Fatal(err)
	}
	r.ctx.Init(&r.tmpl, rtClientAddr, nil)
	return r
}

// serve runs one request and reports whether it was answered 200.
func (r *rtRig) serve() bool {
	r.tmpl.CopyTo(&r.ctx.Request)
	r.ctx.Response.Reset()
	r.data.Handler(&r.ctx)
	return r.ctx.Response.StatusCode() == 200
}

func (r *rtRig) check(tb testing.TB) {
	tb.Helper()
	if !r.serve() {
		tb.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
	}
}

func BenchmarkProxyHandler(b *testing.B) {
	for _, c := range rtBenchCases {
		b.Run(c.name, func(b *testing.B) {
			r := newRTRig(b, c)
			r.check(b)
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if !r.serve() {
					b.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
				}
			}
		})
	}
}
