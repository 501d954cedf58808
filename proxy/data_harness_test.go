package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// dpEnv is a data plane on an in-memory listener with a real store.
type dpEnv struct {
	t      testing.TB
	store  *keystore.Store
	data   *Data
	clock  *testclock.Clock
	client *fasthttp.HostClient
}

func newDPEnv(t testing.TB) *dpEnv {
	t.Helper()
	clock := testclock.New()
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{1}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	d := NewData(DataOptions{Store: store, Now: clock.Now, MaxBodyBytes: 1 << 20})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: d.Handler}
	d.ConfigureServer(srv)
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
	return doRequest(e.t, e.client, method, path, body, headers...)
}

// doRequest sends method path to client with headers (name, value pairs)
// and body (JSON unless a Content-Type header says otherwise) and returns
// the response copied out of fasthttp.
func doRequest(t testing.TB, client *fasthttp.HostClient, method, path, body string, headers ...string) response {
	t.Helper()
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
		if len(req.Header.ContentType()) == 0 {
			req.Header.SetContentType("application/json")
		}
	}
	if err := client.Do(req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return rtCopyResponse(resp)
}

// doWhole sends one request on a new connection from dial in a single
// write, then reads the answer. For requests the server may answer from
// their headers and then close (a large body refused before it is read):
// a client that writes the body after the headers can find the
// connection closed before it reads the answer, and fail the test.
func doWhole(t testing.TB, dial func() (net.Conn, error), method, path, body string, headers ...string) response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://sdproxy" + path)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req.String())); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return rtCopyResponse(resp)
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
