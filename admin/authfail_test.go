package admin

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/authfail"
)

// TestAdminTokenFailuresLimited: failed attempts at the admin token are
// bounded per client IP as API keys are on the data listener. Past the
// burst the address is answered 429 rate_limited with Retry-After before
// the token is compared — the right token included, so that an ordinary
// request cannot confirm a guess while locked out (docs/admin-api.md says
// what a large body's headers still tell) — other addresses are not, and
// the bucket refills. The failures are recorded as auth.failed summaries
// naming the admin listener, and counted for metrics.
func TestAdminTokenFailuresLimited(t *testing.T) {
	rec := &recordedEvents{}
	e := newAdmEnvWith(t, func(o *Options) {
		o.Events = rec
		o.AuthFailures = authfail.Options{PerSecond: 1, Burst: 3}
	})
	from := func(ip string) *fasthttp.HostClient {
		return &fasthttp.HostClient{Addr: "admin.test", Dial: func(string) (net.Conn, error) {
			return e.ln.DialWithLocalAddr(&net.TCPAddr{IP: net.ParseIP(ip), Port: 4000})
		}}
	}
	get := func(c *fasthttp.HostClient, auth string) (int, string, string) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://admin.test/admin/v1/projects")
		req.Header.Set("Authorization", auth)
		if err := c.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), string(resp.Body()), string(resp.Header.Peek("Retry-After"))
	}
	attacker, other := from("203.0.113.7"), from("198.51.100.9")
	good, bad := "Bearer "+admToken, "Bearer "+strings.Repeat("x", len(admToken))
	for i := range 3 {
		if st, body, _ := get(attacker, bad); st != 401 {
			t.Fatalf("bad token %d = %d %s, want 401 (within the burst of 3)", i+1, st, body)
		}
	}
	st, body, retry := get(attacker, bad)
	if st != 429 || !strings.Contains(body, `"rate_limited"`) || retry != "1" {
		t.Fatalf("4th bad token = %d %s (Retry-After %q), want 429 rate_limited, Retry-After 1", st, body, retry)
	}
	if st, body, _ := get(attacker, good); st != 429 {
		t.Errorf("the right token from the locked-out address = %d %s, want 429: it is not compared while locked out", st, body)
	}
	if st, body, _ := get(other, good); st != 200 {
		t.Errorf("the right token from another address = %d %s, want 200", st, body)
	}
	e.clock.Advance(2 * time.Second)
	if st, body, _ := get(attacker, good); st != 200 {
		t.Errorf("the right token once the bucket refilled = %d %s, want 200", st, body)
	}
	if n := e.admin.AuthFailures(); n != 4 {
		t.Errorf("AuthFailures() = %d, want 4 (the three 401s and the one that went past the burst)", n)
	}

	// A large body (past UnauthBodyBytes, sent in part) counts and is
	// refused the same way, before the rest of it is read; and once the
	// address is locked out the right token is refused just as a wrong
	// one, its body no more read, so that how the body was handled
	// does not tell whether a guess was right.
	large := func(auth string) (int, string) {
		c, err := e.ln.DialWithLocalAddr(&net.TCPAddr{IP: net.ParseIP("192.0.2.5"), Port: 4000})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /admin/v1/projects HTTP/1.1\r\nHost: admin.test\r\nContent-Type: application/json\r\n"+
			"Authorization: "+auth+"\r\nContent-Length: 10240\r\n\r\n{\"name\":\""+strings.Repeat("n", UnauthBodyBytes))
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a server waiting for the rest of the body fails the test, not hangs it
		br := bufio.NewReader(c)
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		if err := resp.Read(br); err != nil {
			t.Fatalf("large body: no answer before the rest of the body: %v", err)
		}
		if !resp.ConnectionClose() {
			t.Errorf("large body refused %d without Connection: close", resp.StatusCode())
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("large body refused %d: the connection stayed open (%v)", resp.StatusCode(), err)
		}
		return resp.StatusCode(), string(resp.Body())
	}
	for i, want := range []int{401, 401, 401, 429} {
		if st, body := large(bad); st != want {
			t.Errorf("large body with a bad token, %d = %d %s, want %d", i+1, st, body, want)
		}
	}
	if st, body := large(good); st != 429 {
		t.Errorf("large body with the right token from the locked-out address = %d %s, want 429, before its body, as a wrong token", st, body)
	}
	if n := e.admin.AuthFailures(); n != 8 {
		t.Errorf("AuthFailures() = %d, want 8", n)
	}

	done := make(chan struct{})
	close(done)
	e.admin.RunAuthFailureSummaries(done) // flushes once and returns
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sums []events.Event
	for _, ev := range rec.list {
		if ev.Type == events.TypeAuthFailed {
			sums = append(sums, ev)
		}
	}
	if len(sums) != 2 {
		t.Fatalf("auth.failed summaries = %+v, want two", sums)
	}
	if sums[0].Details["client_ip"] != "203.0.113.7" {
		sums[0], sums[1] = sums[1], sums[0]
	}
	if d := sums[0].Details; d["client_ip"] != "203.0.113.7" || d["count"] != "4" || d["listener"] != "admin" || sums[0].ProjectID != "" {
		t.Errorf("summary = %+v, want 4 failures from 203.0.113.7 on the admin listener, no project", sums[0])
	}
	for _, ev := range sums {
		for k, v := range ev.Details {
			if strings.Contains(v, "xxxx") || strings.Contains(v, admToken) {
				t.Errorf("summary detail %s = %q holds a token", k, v)
			}
		}
	}
}
