package proxy

import (
	"bytes"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/keystore"
)

// dpClock is a settable clock for the data plane.
type dpClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dpClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// dpEnv is a data plane on an in-memory listener with a real store.
type dpEnv struct {
	t      testing.TB
	store  *keystore.Store
	data   *Data
	clock  *dpClock
	client *fasthttp.HostClient
}

func newDPEnv(t testing.TB) *dpEnv {
	t.Helper()
	clock := &dpClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{1}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	d := NewData(DataOptions{Store: store, Now: clock.Now, MaxBodyBytes: 1 << 20})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: d.Handler, ErrorHandler: ServerErrorHandler, MaxRequestBodySize: 1 << 20}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
		store.Close()
	})
	client := &fasthttp.HostClient{Addr: "sdproxy", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return &dpEnv{t: t, store: store, data: d, clock: clock, client: client}
}

// project creates a project with in applied on top of a name.
func (e *dpEnv) project(in keystore.ProjectInput) keystore.Project {
	e.t.Helper()
	if in.Name == nil {
		name := "test"
		in.Name = &name
	}
	p, err := e.store.CreateProject(in)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *dpEnv) key(project string, in keystore.KeyInput) string {
	e.t.Helper()
	k, err := e.store.CreateKey(project, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.Secret
}

// response is a finished response, copied out of fasthttp.
type response struct {
	status int
	header map[string]string
	body   []byte
}

func (r response) code() string { return r.header[HeaderErrorCode] }

// do sends method path with headers (name, value pairs) and body.
func (e *dpEnv) do(method, path string, body string, headers ...string) response {
	e.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://sdproxy" + path)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	if err := e.client.Do(req, resp); err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		out.header[string(k)] = string(v)
	}
	return out
}

// jsonField returns the raw JSON of member name of body.
func jsonField(t testing.TB, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s is not a JSON object: %v", body, err)
	}
	return m[name]
}
