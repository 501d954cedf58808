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

// rtBenchUpstream is a minimal fasthttp upstream answering 200 with
// *answer (default {}) without allocating, so it adds nothing to the data
// plane's numbers; with timing, the answer has a Server-Timing line of its
// own.
func (e *rtEnv) benchUpstream(addr string, answer *string, timing bool) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			if timing {
				ctx.Response.Header.Set(HeaderServerTiming, rtUpstreamTiming)
			}
			if answer != nil {
				ctx.SetBodyString(*answer)
			} else {
				ctx.SetBodyString("{}")
			}
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
	// routes: the project has 1,000 routes that do not match; sealed: the
	// upstream answers the body with rtFields300 sealed; respRoute: a
	// route decrypts them; timing: the upstream's answer has its own
	// Server-Timing; budget: the key has a decrypt budget (large enough
	// never to run out).
	routes, sealed, respRoute, timing, budget bool
}

// rtUpstreamTiming is the Server-Timing of the bench upstream's answers
// (rtBenchCase.timing).
const rtUpstreamTiming = `db;dur=2.5, cache;desc="hit"`

var rtBenchCases = []rtBenchCase{
	{"passthrough", true, "", rtBody300, false, false, false, false, false},
	{"fields", true, rtFields300, rtBody300, false, false, false, false, false},
	{"fields-noforward", false, rtFields300, rtBody300, false, false, false, false, false},
	{"passthrough-1000-routes", true, "", rtBody300, true, false, false, false, false},
	{"response-2-fields", true, "", rtBody300, false, true, true, false, false},
	{"passthrough-sealed-answer", true, "", rtBody300, false, true, false, false, false},
	{"passthrough-upstream-timing", true, "", rtBody300, false, false, false, true, false},
	{"response-2-fields-budget", true, "", rtBody300, false, true, true, false, true},
}

// rtBenchEnv is an env with a real clock (a frozen one would empty the
// token bucket), a fast upstream and a project with a key, with the routes
// of c.
func rtBenchEnv(tb testing.TB, c rtBenchCase) (e *rtEnv, project, key string) {
	tb.Helper()
	e = newRTEnv(tb, rtOptions{realClock: true})
	answer := new(string)
	*answer = "{}"
	e.benchUpstream("bench.test:80", answer, c.timing)
	p := e.project("http://bench.test/api")
	var in keystore.KeyInput
	if c.budget {
		in.DecryptBudget = &keystore.Budget{Values: keystore.MaxBudgetValues, Per: keystore.MaxBudgetPer}
	}
	key = e.key(p.ID, in)
	if c.routes {
		for i := range 1000 {
			in := keystore.RouteInput{Path: "/svc" + rtItoa(i) + "/**", Order: i,
				Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"card"}}}
			if _, err := e.store.CreateRoute(p.ID, in); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if c.sealed {
		r := e.do("POST", "/proxy/"+p.ID, c.body, HeaderAuthorization, key, HeaderFields, rtFields300)
		if r.status != 200 {
			tb.Fatalf("sealing the answer = %d %s", r.status, r.body)
		}
		*answer = string(r.body)
	}
	if c.respRoute {
		in := keystore.RouteInput{Path: "/orders/**", Response: &keystore.RoutePhase{Mode: "decrypt", Fields: strings.Split(rtFields300, ",")}}
		if _, err := e.store.CreateRoute(p.ID, in); err != nil {
			tb.Fatal(err)
		}
	}
	return e, p.ID, key
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
			e, project, key := rtBenchEnv(b, c)
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

func newRTRig(tb testing.TB, c rtBenchCase, extra ...string) *rtRig {
	tb.Helper()
	e, project, key := rtBenchEnv(tb, c)
	r := &rtRig{data: e.data}
	raw := rtRawRequest(c, project, key)
	for _, h := range extra { // header lines, after the first
		raw = strings.Replace(raw, "\r\n", "\r\n"+h+"\r\n", 1)
	}
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
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

// BenchmarkResponsePhase measures what the response phase adds to a
// request: planning it from the route and revealing 2 fields of a 300-byte
// answer, on the data plane's own request state, without the round trip.
func BenchmarkResponsePhase(b *testing.B) {
	c := rtBenchCases[4]
	e, project, key := rtBenchEnv(b, c)
	sealed := e.do("POST", "/proxy/"+project, c.body, HeaderAuthorization, key, HeaderFields, rtFields300).body
	d := e.data
	pr, err := e.store.Authenticate([]byte(project), []byte(key))
	if err != nil {
		b.Fatal(err)
	}
	st := &reqState{principal: pr}
	st.project = e.store.CachedProject([]byte(project))
	var ctx fasthttp.RequestCtx
	var resp fasthttp.Response
	method, path, projectID := []byte("GET"), []byte("/orders/42"), []byte(project)
	b.SetBytes(int64(len(sealed)))
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset() // a fresh answer each time, as from the upstream
		resp.SetBodyRaw(sealed)
		st.route, _, _ = d.matchRoute(projectID, method, path, nil, nil)
		st.resp = respPlan{}
		if err := d.planResponse(st); err != nil {
			b.Fatal(err)
		}
		if err := d.transformResponse(&ctx, st, &resp); err != nil || !st.resp.ran {
			b.Fatalf("transformResponse = %v (ran %v)", err, st.resp.ran)
		}
	}
	if !strings.Contains(string(resp.Body()), "123-45-6789") {
		b.Fatalf("answer %s, want the fields revealed", resp.Body())
	}
}

// BenchmarkBareForward is BenchmarkProxyHandler's baseline: the same
// request, reset the same way on one RequestCtx, passed by a bare handler
// (set the host, Do) to the same in-memory upstream. What
// BenchmarkProxyHandler/passthrough costs more is the data plane's own
// work: authentication, rate limit, routing, header copies, timing.
func BenchmarkBareForward(b *testing.B) {
	c := rtBenchCases[0]
	e, project, key := rtBenchEnv(b, c)
	client := &fasthttp.HostClient{
		Addr:                     "bench.test:80",
		Dial:                     e.dial,
		NoDefaultUserAgentHeader: true,
	}
	var tmpl fasthttp.Request
	if err := tmpl.Read(bufio.NewReader(strings.NewReader(rtRawRequest(c, project, key)))); err != nil {
		b.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&tmpl, rtClientAddr, nil)
	serve := func() {
		tmpl.CopyTo(&ctx.Request)
		ctx.Response.Reset()
		ctx.Request.SetHost("bench.test:80")
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil || ctx.Response.StatusCode() != 200 {
			b.Fatalf("bare forward = %d %v, want 200", ctx.Response.StatusCode(), err)
		}
	}
	serve()
	b.SetBytes(int64(len(c.body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
}
