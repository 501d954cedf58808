package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// The harness of the Smart Data Proxy tests with upstreams (used by
// proxy_route_test.go, forward_test.go,
// bench_test.go, allocs_test.go). Every name starts with rt so they do not
// collide with the other test files of the package.

// rtClientAddr is the address the test client connects from, so
// X-Forwarded-For has a known value.
var rtClientAddr = &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 40000}

// rtBigLimit is a rate limit no test reaches.
var rtBigLimit = keystore.RateLimit{RequestsPerSecond: 1e6, Burst: 1 << 20}

// rtOptions configure newRTEnv.
type rtOptions struct {
	// events and audit receive request records and summaries (nil: none).
	events EventSink
	audit  AuditLog
	// authFail bounds failed authentications per IP (zero: the defaults).
	authFail AuthFailureOptions
	// maxValues and maxOutput bound transforms (zero: the defaults).
	maxValues, maxOutput int
	// maxBody is DataOptions.MaxBodyBytes. Zero means 64 KiB (the server
	// itself takes 1 MiB, so the data plane's limit is the one reached).
	maxBody int
	// timeout is UpstreamOptions.Timeout. Zero means 10s.
	timeout time.Duration
	// upstreamRoots is UpstreamOptions.RootCAs (nil: the system's).
	upstreamRoots *x509.CertPool
	// realClock uses time.Now instead of the settable clock (benchmarks:
	// a frozen clock would empty every token bucket), as the data plane's
	// default (DataOptions.Now nil), so durations cost what they do in
	// production.
	realClock bool
}

// rtEnv is the data plane on an in-memory listener, forwarding to fake
// upstreams that are also in memory, chosen by the host:port dialled.
type rtEnv struct {
	t      testing.TB
	store  *keystore.Store
	data   *Data
	clock  *testclock.Clock
	ln     *fasthttputil.InmemoryListener
	client *fasthttp.HostClient
	// stop is closed first on cleanup, to release blocked upstreams.
	stop chan struct{}

	mu      sync.Mutex
	dialers map[string]func() (net.Conn, error) // by host:port
	dials   []string                            // every address dialled
	// names and hosts are the fake network's DNS: the address given to
	// each host name resolved (set one in names to choose it), and the
	// name of each address handed out, so that dialling it reaches the
	// name's fake upstream.
	names map[string][]netip.Addr
	hosts map[netip.Addr]string
}

func newRTEnv(t testing.TB, o rtOptions) *rtEnv {
	t.Helper()
	if o.maxBody == 0 {
		o.maxBody = 64 << 10
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	clock := testclock.New()
	now := clock.Now
	if o.realClock {
		now = time.Now
	}
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{3}, 32), Now: now})
	if err != nil {
		t.Fatalf("keystore.Open = %v, want nil", err)
	}
	e := &rtEnv{t: t, store: store, clock: clock, stop: make(chan struct{}), dialers: map[string]func() (net.Conn, error){},
		names: map[string][]netip.Addr{}, hosts: map[netip.Addr]string{}}
	if o.realClock {
		now = nil // the default: time.Now
	}
	e.data = NewData(DataOptions{
		Store: store, Now: now, MaxBodyBytes: o.maxBody,
		Upstream: UpstreamOptions{Timeout: o.timeout, Dial: e.dial, Resolve: e.resolve, RootCAs: o.upstreamRoots},
		Events:   o.events, Audit: o.audit, AuthFailures: o.authFail,
		MaxValues: o.maxValues, MaxOutputBytes: o.maxOutput,
	})
	e.ln = fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: e.data.Handler, Logger: rtQuiet{}}
	e.data.ConfigureServer(srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(e.ln)
	}()
	t.Cleanup(func() {
		close(e.stop)
		srv.Shutdown()
		<-served
		if err := store.Close(); err != nil {
			t.Errorf("Store.Close() = %v, want nil", err)
		}
	})
	e.client = &fasthttp.HostClient{
		Addr:                      "sdproxy",
		Dial:                      func(string) (net.Conn, error) { return e.ln.DialWithLocalAddr(rtClientAddr) },
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		ReadTimeout:               30 * time.Second,
		MaxIdemponentCallAttempts: 1,
	}
	return e
}

// rtQuiet is a fasthttp logger that drops everything (fake upstreams close
// connections on purpose).
type rtQuiet struct{}

func (rtQuiet) Printf(string, ...any) {}

// resolve is UpstreamOptions.Resolve: the addresses set for host in
// e.names, else one of its own in 198.18.0.0/15 (a range no check
// refuses), the same at every look-up.
func (e *rtEnv) resolve(_ context.Context, host string) ([]netip.Addr, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ips, ok := e.names[host]
	if !ok {
		n := len(e.hosts) + 1
		ips = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(n >> 8), byte(n)})}
		e.names[host] = ips
	}
	for _, ip := range ips {
		if _, ok := e.hosts[ip]; !ok {
			e.hosts[ip] = host
		}
	}
	return ips, nil
}

// dial is UpstreamOptions.Dial: it connects to the fake upstream at addr
// (an address resolve handed out, where no fake listens, stands for its
// name), or fails as a refused connection would.
func (e *rtEnv) dial(addr string) (net.Conn, error) {
	e.mu.Lock()
	if host, port, err := net.SplitHostPort(addr); err == nil && e.dialers[addr] == nil {
		if ip, err := netip.ParseAddr(host); err == nil && e.hosts[ip] != "" {
			addr = net.JoinHostPort(e.hosts[ip], port)
		}
	}
	d := e.dialers[addr]
	e.dials = append(e.dials, addr)
	e.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("dial %s: connection refused", addr)
	}
	return d()
}

// dialed returns every address dialled so far.
func (e *rtEnv) dialed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.dials...)
}

// project creates a project forwarding to upstream ("" for none) and
// allowing dests, with a rate limit no test reaches.
func (e *rtEnv) project(upstream string, dests ...string) keystore.Project {
	e.t.Helper()
	rl := rtBigLimit
	return e.projectIn(keystore.ProjectInput{Upstream: &upstream, Destinations: &dests, RateLimit: &rl})
}

func (e *rtEnv) projectIn(in keystore.ProjectInput) keystore.Project {
	e.t.Helper()
	if in.Name == nil {
		name := "rt"
		in.Name = &name
	}
	p, err := e.store.CreateProject(in)
	if err != nil {
		e.t.Fatalf("CreateProject = %v, want nil", err)
	}
	return p
}

func (e *rtEnv) key(project string, in keystore.KeyInput) string {
	e.t.Helper()
	k, err := e.store.CreateKey(project, in)
	if err != nil {
		e.t.Fatalf("CreateKey(%s) = %v, want nil", project, err)
	}
	return k.Secret
}

// rtKeyID is the public id of a key: everything before the last underscore.
func rtKeyID(key string) string { return key[:strings.LastIndexByte(key, '_')] }

// do sends method path with headers (name, value pairs) and body.
func (e *rtEnv) do(method, path, body string, headers ...string) response {
	e.t.Helper()
	return doRequest(e.t, e.client, method, path, body, headers...)
}

// raw writes a raw HTTP/1.1 request (lines joined with CRLF) and reads
// one response.
func (e *rtEnv) raw(lines ...string) response {
	e.t.Helper()
	c, err := e.ln.DialWithLocalAddr(rtClientAddr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, strings.Join(lines, "\r\n")); err != nil {
		e.t.Fatal(err)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.SkipBody = strings.HasPrefix(lines[0], "HEAD ")
	resp.Header.SetNoDefaultContentType(true) // the answer's headers as sent
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		e.t.Fatalf("reading the response to %q: %v", lines[0], err)
	}
	return rtCopyResponse(resp)
}

func rtCopyResponse(resp *fasthttp.Response) response {
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		if old, ok := out.header[string(k)]; ok {
			out.header[string(k)] = old + "\n" + string(v)
		} else {
			out.header[string(k)] = string(v)
		}
	}
	return out
}

// rtRequest is a request as a fake upstream read it, copied.
type rtRequest struct {
	method string
	uri    string // request target as received: path and query
	host   string
	header http.Header // names as fasthttp normalises them
	body   []byte
}

// rtUpstream is a fake upstream on an in-memory listener. It records every
// request it reads, and every byte it receives, and answers with respond.
type rtUpstream struct {
	ln *fasthttputil.InmemoryListener
	// respond answers the n-th request (from 1): the raw HTTP response to
	// write, or nil to close the connection without answering.
	respond func(n int, req *fasthttp.Request) []byte

	mu    sync.Mutex
	reqs  []rtRequest
	wire  []byte
	conns []net.Conn
}

// rtOK is the default answer of a fake upstream.
func rtOK(int, *fasthttp.Request) []byte {
	return rtAnswer(200, "application/json", `{"upstream":"ok"}`)
}

// rtAnswer is a raw HTTP/1.1 response with a Content-Length.
func rtAnswer(status int, contentType, body string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", status, http.StatusText(status), contentType, len(body))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

// upstream starts a fake upstream reached by dialling addr (host:port).
// respond nil means rtOK.
func (e *rtEnv) upstream(addr string, respond func(n int, req *fasthttp.Request) []byte) *rtUpstream {
	if respond == nil {
		respond = rtOK
	}
	u := &rtUpstream{ln: fasthttputil.NewInmemoryListener(), respond: respond}
	e.mu.Lock()
	e.dialers[addr] = u.ln.Dial
	e.mu.Unlock()
	go u.serve()
	e.t.Cleanup(u.close)
	return u
}

// httpUpstream serves h, a net/http handler (a real router, Range
// support), to requests that dial addr.
func (e *rtEnv) httpUpstream(addr string, h http.Handler) {
	ln := fasthttputil.NewInmemoryListener()
	go http.Serve(ln, h)
	e.t.Cleanup(func() { ln.Close() })
	e.mu.Lock()
	e.dialers[addr] = ln.Dial
	e.mu.Unlock()
}

func (u *rtUpstream) serve() {
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.conns = append(u.conns, c)
		u.mu.Unlock()
		go u.serveConn(c)
	}
}

func (u *rtUpstream) serveConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, rtWire{u}))
	for {
		req := new(fasthttp.Request)
		if err := req.Read(br); err != nil {
			return
		}
		answer := u.respond(u.record(req), req)
		if answer == nil {
			return
		}
		if _, err := c.Write(answer); err != nil {
			return
		}
	}
}

func (u *rtUpstream) close() {
	u.ln.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.conns {
		c.Close()
	}
}

// rtWire appends what it is given to its upstream's wire record.
type rtWire struct{ u *rtUpstream }

func (w rtWire) Write(p []byte) (int, error) {
	w.u.mu.Lock()
	w.u.wire = append(w.u.wire, p...)
	w.u.mu.Unlock()
	return len(p), nil
}

// record copies req and returns how many requests were read so far.
func (u *rtUpstream) record(req *fasthttp.Request) int {
	r := rtRequest{
		method: string(req.Header.Method()),
		uri:    string(req.Header.RequestURI()),
		host:   string(req.Header.Host()),
		header: http.Header{},
		body:   append([]byte{}, req.Body()...),
	}
	for k, v := range req.Header.All() {
		r.header[string(k)] = append(r.header[string(k)], string(v))
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reqs = append(u.reqs, r)
	return len(u.reqs)
}

// requests returns the requests read so far.
func (u *rtUpstream) requests() []rtRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]rtRequest(nil), u.reqs...)
}

// last returns the last request read, failing the test if there is none.
func (u *rtUpstream) last(t testing.TB) rtRequest {
	t.Helper()
	reqs := u.requests()
	if len(reqs) == 0 {
		t.Fatalf("upstream received no request, want one")
	}
	return reqs[len(reqs)-1]
}

// wireLen is how many bytes the upstream has received so far.
func (u *rtUpstream) wireLen() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.wire)
}

// wireSince returns the bytes received after the first n.
func (u *rtUpstream) wireSince(n int) []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]byte(nil), u.wire[n:]...)
}

// rtErrorShape checks that r is the JSON error code with status, the code
// in X-Qanapi-Error-Code and the request id in body and header.
func rtErrorShape(t testing.TB, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("%s = %d %s %s, want %d %s", what, r.status, r.code(), r.body, status, code)
	}
	var body map[string]map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s body = %s, want a JSON object: %v", what, r.body, err)
	}
	e, ok := body["error"]
	if len(body) != 1 || !ok || len(e) != 3 {
		t.Fatalf("%s body = %s, want exactly {\"error\":{code,message,request_id}}", what, r.body)
	}
	id := r.header[HeaderRequestID]
	if e["code"] != code || e["message"] == "" || e["request_id"] != id || id == "" {
		t.Errorf("%s body = %s with %s %q, want code %s, a message and the request id", what, r.body, HeaderRequestID, id, code)
	}
	if ct := r.header["Content-Type"]; ct != "application/json" {
		t.Errorf("%s Content-Type = %q, want application/json", what, ct)
	}
}

// rtStatusLine is the first line of a raw request.
func rtStatusLine(method, target string) string { return method + " " + target + " HTTP/1.1" }

// rtItoa is strconv.Itoa, short.
func rtItoa(n int) string { return strconv.Itoa(n) }

// rtForeignKey is a well-formed key with a valid checksum that the store
// has never seen: made by another store.
func rtForeignKey(t testing.TB) string {
	t.Helper()
	s, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatalf("keystore.Open = %v, want nil", err)
	}
	defer s.Close()
	name := "foreign"
	p, err := s.CreateProject(keystore.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateKey(p.ID, keystore.KeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

// rtSeal encrypts field ssn of {"ssn":value} through the bare
// /proxy/{project} and returns the token, quoted.
func (e *rtEnv) seal(project, key, value string, headers ...string) string {
	e.t.Helper()
	h := append([]string{HeaderAuthorization, key, HeaderFields, "ssn"}, headers...)
	r := e.do("POST", "/proxy/"+project, `{"ssn":`+value+`}`, h...)
	tok := jsonField(e.t, r.body, "ssn")
	if r.status != 200 || !tokenRE.Match(tok) {
		e.t.Fatalf("seal %s = %d %s, want 200 and a token", value, r.status, r.body)
	}
	return string(tok)
}
