package admin

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/proxy"
)

// TestPreviewPathAsProxyRoutesIt: the preview matches routes on the path
// as the data listener does, decoded with its empty and dot segments
// resolved, so that it never reports as encrypted a field that the proxy
// forwards in plaintext (a route for /admin/** does not apply to
// /admin/../public: the proxy forwards that to /public). Each path is sent
// through the data plane too, and what the upstream receives must agree
// with what the preview says.
func TestPreviewPathAsProxyRoutesIt(t *testing.T) {
	e, p, send := previewPathRig(t)

	for _, path := range []string{
		"/admin/x", "/admin/../public/1", "/admin/%2E%2E/public/1", "/admin/..%2Fpublic/1", "/admin/./x",
		"/x/../admin/y", "//admin/x", "/%61dmin/x", "/users/1", "/users/a%2Fb",
	} {
		status, body := send(path)
		if status != 200 || body == "" {
			t.Fatalf("proxy POST %s = %d, upstream got %q: want it forwarded", path, status, body)
		}
		previewAgrees(t, e, p.ID, path, body)
	}
	// A path that leaves /proxy/{id} once resolved names no route of the
	// project: the proxy does not route it to the project at all.
	if pv := e.call("POST", "/admin/v1/projects/"+p.ID+"/preview", `{"method":"POST","path":"/../admin/x","body":{}}`); pv.status != 400 {
		t.Errorf("preview /../admin/x = %d %s, want 400", pv.status, pv.body)
	}
}

// TestPreviewEscapedSlashOnlyWhereForwardedAsSent: the data plane reads a
// path with an escaped slash also as sent (one segment) only when it
// forwards it as sent, which it does only for a plain path (pchar and
// well-formed escapes only); "/users/a%2Fb|" it forwards decoded, as
// "/users/a/b|", which no "/users/*" route covers, so the ssn goes in
// plaintext. The preview must not say that route encrypts it.
func TestPreviewEscapedSlashOnlyWhereForwardedAsSent(t *testing.T) {
	e, p, send := previewPathRig(t)
	for _, path := range []string{"/users/a%2Fb", "/users/a%2Fb|", "/users/a%2F\u00e9", "/users/a%2Fb{", "/users/a%2F%2Fb"} {
		status, body := send(path)
		if status != 200 || body == "" {
			t.Fatalf("proxy POST %s = %d, upstream got %q: want it forwarded", path, status, body)
		}
		previewAgrees(t, e, p.ID, path, body)
	}
}

// previewPathRig is a project with a route encrypting ssn under /admin/**
// and one under /users/*, and send, which POSTs {"ssn": …} to a path of it
// through a data plane and returns the status and what its upstream got.
func previewPathRig(t *testing.T) (*admEnv, admProject, func(path string) (int, string)) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Shop","upstream":"http://up.test"}`)
	e.route(p.ID, `{"path": "/admin/**", "order": 1, "request": {"mode": "encrypt", "fields": ["ssn"]}}`)
	e.route(p.ID, `{"path": "/users/*", "order": 2, "request": {"mode": "encrypt", "fields": ["ssn"]}}`)
	key := e.key(p.ID, `{}`).Key

	// The upstream records the bodies it receives.
	var mu sync.Mutex
	var got []string
	up := fasthttputil.NewInmemoryListener()
	upSrv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got = append(got, string(ctx.Request.Body()))
		mu.Unlock()
		ctx.SetBodyString("{}")
	}}
	go upSrv.Serve(up)
	d := proxy.NewData(proxy.DataOptions{Store: e.store, MaxBodyBytes: 1 << 20,
		Upstream: proxy.UpstreamOptions{Dial: func(string) (net.Conn, error) { return up.Dial() }}})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: d.Handler}
	d.ConfigureServer(srv)
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
		upSrv.Shutdown()
		up.Close()
	})
	client := &fasthttp.HostClient{Addr: "sdproxy", Dial: func(string) (net.Conn, error) { return ln.Dial() }, DisablePathNormalizing: true}
	send := func(path string) (status int, upstreamBody string) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://sdproxy/proxy/" + p.ID + path)
		req.Header.Set(proxy.HeaderAuthorization, key)
		req.SetBodyString(`{"ssn":"219-09-9999"}`)
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if err := client.Do(req, resp); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) > n {
			upstreamBody = got[len(got)-1]
		}
		return resp.StatusCode(), upstreamBody
	}
	return e, p, send
}

// previewAgrees checks that the preview of a POST of {"ssn": …} to path
// says ssn is encrypted exactly when forwarded, the body the proxy sent
// upstream for it, does not hold it in clear.
func previewAgrees(t *testing.T, e *admEnv, project, path, forwarded string) {
	t.Helper()
	sealed := !strings.Contains(forwarded, "219-09-9999")
	q, _ := json.Marshal(path)
	pv := e.call("POST", "/admin/v1/projects/"+project+"/preview", `{"method":"POST","path":`+string(q)+`,"body":{"ssn":"219-09-9999"}}`)
	if pv.status != 200 {
		t.Errorf("preview %s = %d %s, want 200", path, pv.status, pv.body)
		return
	}
	var out struct {
		Request struct {
			Mode   string   `json:"mode"`
			Fields []string `json:"fields"`
		} `json:"request"`
	}
	admDecode(t, pv.body, &out)
	if says := out.Request.Mode == "encrypt" && len(out.Request.Fields) == 1; says != sealed {
		t.Errorf("path %s: preview says ssn encrypted = %v (%s), the proxy forwarded %s", path, says, pv.body, forwarded)
	}
}
