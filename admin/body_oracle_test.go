package admin

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/authfail"
	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// countedConn is a server-side connection that counts the bytes the
// server reads from it and is done once the server has closed it.
type countedConn struct {
	net.Conn
	n    atomic.Int64
	once sync.Once
	done chan struct{}
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countedConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// countingListener hands each connection it accepts to conns too.
type countingListener struct {
	net.Listener
	conns chan *countedConn
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, done: make(chan struct{})}
	l.conns <- cc
	return cc, nil
}

// countingServer is the admin handler behind admin.ConfigureServer on an
// in-memory listener whose connections count the bytes the server reads.
func countingServer(t *testing.T, burst int) (*fasthttputil.InmemoryListener, chan *countedConn) {
	t.Helper()
	clock := testclock.New()
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{7}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Store: store, Token: admToken, Now: clock.Now, AuthFailures: authfail.Options{PerSecond: 1, Burst: burst}})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: a.Handler, Logger: admQuietLogger{}, ReadTimeout: 10 * time.Second}
	a.ConfigureServer(srv)
	conns := make(chan *countedConn, 1)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(countingListener{ln, conns}) }()
	t.Cleanup(func() { srv.Shutdown(); ln.Close(); <-done; store.Close() })
	return ln, conns
}

// exchange sends raw on a new connection from ip (in a goroutine, as the
// server may answer before reading it all), reads every answer until the
// server closes the connection or a second of silence, then closes its
// end, waits for the server to close its own, and returns the answers
// and the bytes the server read.
func exchange(t *testing.T, ln *fasthttputil.InmemoryListener, conns chan *countedConn, ip, raw string) (string, int64) {
	t.Helper()
	c, err := ln.DialWithLocalAddr(&net.TCPAddr{IP: net.ParseIP(ip), Port: 4000})
	if err != nil {
		t.Fatal(err)
	}
	sc := <-conns
	go io.WriteString(c, raw)
	var out bytes.Buffer
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(time.Second))
		var resp fasthttp.Response
		resp.SkipBody = strings.HasPrefix(raw, "HEAD ") && out.Len() == 0
		if err := resp.Read(br); err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "timeout") {
				fmt.Fprintf(&out, "[read error: %v]", err)
			}
			break
		}
		fmt.Fprintf(&out, "%d close=%v retry=%q %s | ", resp.StatusCode(), resp.ConnectionClose(), resp.Header.Peek("Retry-After"), resp.Body())
		if resp.ConnectionClose() {
			break
		}
	}
	c.Close()
	select {
	case <-sc.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server did not close its end of a connection the client closed")
	}
	return regexp.MustCompile(`adm_[0-9a-zA-Z_-]+`).ReplaceAllString(out.String(), "adm-ID"), sc.n.Load()
}

// TestLockedOutRightAndWrongTokenAlike: from a locked-out address the
// right token and a wrong one get the same answers and the server reads
// the same number of bytes, for every way of sending a body.
func TestLockedOutRightAndWrongTokenAlike(t *testing.T) {
	ln, n := countingServer(t, 1)
	const ip = "203.0.113.9"
	bad := "Bearer " + strings.Repeat("x", len(admToken))
	// Lock the address out.
	for range 3 {
		exchange(t, ln, n, ip, "GET /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: "+bad+"\r\n\r\n")
	}
	body := func(k int) string { return `{"name":"P"}` + strings.Repeat(" ", k-12) }
	variants := map[string]func(auth string) string{
		"small body": func(a string) string {
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nContent-Length: 100\r\n\r\n" + body(100)
		},
		"8 KiB body": func(a string) string {
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nContent-Length: 8192\r\n\r\n" + body(8192)
		},
		"1 MiB announced, 6 KiB sent": func(a string) string {
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nContent-Length: 1048576\r\n\r\n" + body(6000)
		},
		"chunked": func(a string) string {
			b := body(9000)
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(b), b)
		},
		"expect 100-continue": func(a string) string {
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nExpect: 100-continue\r\nContent-Length: 8192\r\n\r\n" + body(8192)
		},
		"pipelined": func(a string) string {
			r := "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nContent-Length: 100\r\n\r\n" + body(100)
			return r + r
		},
		"CL 0 and chunked": func(a string) string {
			return "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\nAuthorization: " + a + "\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
		},
	}
	for name, mk := range variants {
		right, nr := exchange(t, ln, n, ip, mk("Bearer "+admToken))
		wrong, nw := exchange(t, ln, n, ip, mk(bad))
		t.Logf("%s: right token → %s read %d; wrong → %s read %d", name, right, nr, wrong, nw)
		if right != wrong || nr != nw {
			t.Errorf("%s: a locked-out address tells the right token from a wrong one:\nright %s (read %d)\nwrong %s (read %d)", name, right, nr, wrong, nw)
		}
	}
}

// TestAuthenticatedUnreadBodyFraming: with the token, a body the
// handler does not read (GET, an unknown route) is skipped, not parsed
// as the next request; past fasthttp's drain limit the connection ends.
func TestAuthenticatedUnreadBodyFraming(t *testing.T) {
	ln, n := countingServer(t, 30)
	auth := "Authorization: Bearer " + admToken + "\r\n"
	smuggled := "DELETE /admin/v1/projects/x HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"
	pad := func(k int) string { return smuggled + strings.Repeat(" ", k-len(smuggled)) }
	next := "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tc := range []struct{ name, raw string }{
		{"GET 8 KiB", "GET /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 8192\r\n\r\n" + pad(8192) + next},
		{"GET chunked", "GET /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 8192, pad(8192)) + next},
		{"404 route 8 KiB", "POST /admin/v1/nothing HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 8192\r\n\r\n" + pad(8192) + next},
		{"GET 300 KiB", "GET /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 307200\r\n\r\n" + pad(307200) + next},
		{"HEAD 8 KiB", "HEAD /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 8192\r\n\r\n" + pad(8192) + next},
		{"POST 1 MiB + 1", "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 1048577\r\n\r\n" + pad(1048577) + next},
		{"negative CL", "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: -5\r\n\r\n" + next},
		{"huge CL", "POST /admin/v1/projects HTTP/1.1\r\nHost: a\r\n" + auth + "Content-Length: 99999999999999999999\r\n\r\n" + next},
	} {
		got, read := exchange(t, ln, n, "198.51.100.1", tc.raw)
		t.Logf("%s: %s (server read %d)", tc.name, got, read)
		if strings.Contains(got, "not_found") && strings.Contains(got, "404 close=false") && strings.Count(got, "|") > 2 {
			t.Errorf("%s: a body was parsed as a request: %s", tc.name, got)
		}
	}
}
