package admin

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/authfail"
)

// TestAdminLockoutWithoutCredentials: requests that carry no
// Authorization at all guess nothing, yet each one was counted as a failed
// attempt at the token. A web page the operator opens in a browser on the
// admin host (no-cors GETs to http://127.0.0.1:9090/admin/v1/…, which pass
// the loopback Host guard and cannot carry an Authorization header), or any
// local process, locked the operator's own CLI and console out of the admin
// API — the right token included — from 127.0.0.1, for as long as it kept
// sending one request a second.
func TestAdminLockoutWithoutCredentials(t *testing.T) {
	e := newAdmEnvWith(t, func(o *Options) {
		o.AuthFailures = authfail.Options{PerSecond: 1, Burst: 3}
	})
	c := &fasthttp.HostClient{Addr: "127.0.0.1:9090", Dial: func(string) (net.Conn, error) {
		return e.ln.DialWithLocalAddr(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 4000})
	}}
	get := func(auth string) int {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://127.0.0.1:9090/admin/v1/projects")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if err := c.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode()
	}
	for i := range 10 {
		if st := get(""); st != 401 {
			t.Fatalf("request %d without Authorization = %d, want 401", i+1, st)
		}
	}
	if st := get("Bearer " + admToken); st != 200 {
		t.Errorf("the operator's right token after credential-less requests from the same address = %d, want 200", st)
	}
	if n := e.admin.AuthFailures(); n != 0 {
		t.Errorf("AuthFailures() = %d, want 0: no token was tried", n)
	}
}
