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

// TestPreviewEscapedSlashOnlyWhereForwardedAsSent: the data plane reads a
// path with an escaped slash also as sent (one segment) only when it
// forwards it as sent, which it does only for a plain path (pchar and
// well-formed escapes only); "/users/a%2Fb|" it forwards decoded, as
// "/users/a/b|", which no "/users/*" route covers, so the ssn goes in
// plaintext. The preview must not say that route encrypts it.
func TestPreviewEscapedSlashOnlyWhereForwardedAsSent(t *testing.T) {
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
	srv := &fasthttp.Server{Handler: d.Handler, ErrorHandler: d.ServerErrorHandler, HeaderReceived: d.HeaderReceived}
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
	for _, path := range []string{"/users/a%2Fb", "/users/a%2Fb|", "/users/a%2F\u00e9", "/users/a%2Fb{", "/users/a%2F%2Fb"} {
		status, body := send(path)
		if status != 200 || body == "" {
			t.Fatalf("proxy POST %s = %d, upstream got %q: want it forwarded", path, status, body)
		}
		sealed := !strings.Contains(body, "219-09-9999")
		q, _ := json.Marshal(path)
		pv := e.call("POST", "/admin/v1/projects/"+p.ID+"/preview", `{"method":"POST","path":`+string(q)+`,"body":{"ssn":"219-09-9999"}}`)
		if pv.status != 200 {
			t.Errorf("preview %s = %d %s, want 200", path, pv.status, pv.body)
			continue
		}
		var out struct {
			Request struct {
				Mode   string   `json:"mode"`
				Fields []string `json:"fields"`
			} `json:"request"`
		}
		admDecode(t, pv.body, &out)
		says := out.Request.Mode == "encrypt" && len(out.Request.Fields) == 1
		if says != sealed {
			t.Errorf("path %s: preview says ssn encrypted = %v, the proxy forwarded %s", path, says, body)
		}
	}
}
