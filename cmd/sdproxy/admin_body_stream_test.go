package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/console"
	"github.com/sdproxy/sdproxy/metrics"
)

// countingConn counts the bytes the server reads from a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

// adminLoopback is an admin listener's loopback address.
var adminLoopback = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}

// adminTestServer serves h as serve_run.go serves the admin listener (the
// same newHTTPServer settings and admin.ConfigureServer) on an in-memory
// listener, counting the bytes the server reads; its fasthttp log goes to
// logs.
func adminTestServer(t *testing.T, h fasthttp.RequestHandler) (ln *fasthttputil.InmemoryListener, read *atomic.Int64, logs *lockedBuffer) {
	t.Helper()
	logs = &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	adm := admin.New(admin.Options{Store: nil, Token: "test-token-test-token-test-token", Ready: func() error { return nil }})
	srv := newHTTPServer("sdproxy-admin", h, adm.ServerErrorHandler, admin.MaxBodyBytes, log)
	adm.ConfigureServer(srv)
	ln = fasthttputil.NewInmemoryListener()
	read = new(atomic.Int64)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(countingListener{ln, read}) }()
	t.Cleanup(func() { srv.Shutdown(); ln.Close(); <-done })
	return ln, read, logs
}

// TestMetricsReadsNoUnauthenticatedBody: /metrics needs no token, and
// the real metrics handler (fasthttpadaptor) calls ctx.PostBody(), which
// on a streamed body reads all of it, with no limit (admin.MaxBodyBytes
// is readBody's): a 16 MiB chunked body sent to it must be left unread,
// the connection closed after the answer.
func TestMetricsReadsNoUnauthenticatedBody(t *testing.T) {
	m := metrics.New()
	ln, read, logs := adminTestServer(t, adminHandler(adminLoopback, "", nil, console.New(), m.Handler()))
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	const total = 16 << 20
	go func() {
		io.WriteString(c, "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("A", 64<<10))
		for sent := 0; sent < total; sent += 64 << 10 {
			if _, err := io.WriteString(c, chunk); err != nil {
				return // the server closed: what the fix should do
			}
		}
		io.WriteString(c, "0\r\n\r\n")
	}()
	resp, err := bufio.NewReader(c).ReadString('\n')
	t.Logf("answer %q; the server read %d bytes of a %d-byte unauthenticated body", strings.TrimSpace(resp), read.Load(), total)
	if strings.Contains(logs.String(), "reads the entire stream") {
		t.Logf("fasthttp logged: WARNING: Request.Body() reads the entire stream into memory")
	}
	if got := read.Load(); got > 64<<10 {
		t.Errorf("an unauthenticated POST /metrics made the admin listener read %d bytes (%d MiB) before answering, want at most admin.UnauthBodyBytes plus a read buffer", got, got>>20)
	}
}

// dialAdminHandler connects to the admin listener's handler served as
// serve serves it, and counts the bytes the server reads.
func dialAdminHandler(t *testing.T) (net.Conn, *atomic.Int64) {
	t.Helper()
	ln, read, _ := adminTestServer(t, adminHandler(adminLoopback, "", nil, console.New(), metrics.New().Handler()))
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, read
}

// TestHostGuardLeavesUnreadBody: the host guard's 421 ends a
// connection whose body is unread, as every answer before authentication
// does, rather than fasthttp draining it (up to 256 KiB) and reading the
// next request: one answer, the 200 KiB body not read.
func TestHostGuardLeavesUnreadBody(t *testing.T) {
	c, read := dialAdminHandler(t)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	const bodyLen = 200 << 10
	go func() {
		io.WriteString(c, fmt.Sprintf("POST /admin/v1/projects HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: %d\r\n\r\n", bodyLen))
		io.WriteString(c, strings.Repeat("A", bodyLen))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	}()
	br := bufio.NewReader(c)
	var statuses []int
	for range 2 {
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			break
		}
		statuses = append(statuses, resp.StatusCode())
		if resp.ConnectionClose() {
			break
		}
	}
	t.Logf("answers %v; the server read %d bytes", statuses, read.Load())
	if len(statuses) != 1 || read.Load() > 64<<10 {
		t.Errorf("a 421 with a %d-byte unread body: answers %v, server read %d bytes; want one answer with Connection: close and the body left unread", bodyLen, statuses, read.Load())
	}
}

// TestHostGuardChunkExtensionsUnread: fasthttp's drain counts only
// chunk data against its limit and reads chunk extensions without bound
// (until ReadTimeout): 8 MiB of extension after a 421 must not be read.
func TestHostGuardChunkExtensionsUnread(t *testing.T) {
	c, read := dialAdminHandler(t)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const ext = 8 << 20
	wrote := make(chan int64, 1)
	go func() {
		var n int64
		io.WriteString(c, "POST /x HTTP/1.1\r\nHost: attacker.example\r\nTransfer-Encoding: chunked\r\n\r\n1;x=")
		blk := strings.Repeat("a", 64<<10)
		for n < ext {
			k, err := io.WriteString(c, blk)
			n += int64(k)
			if err != nil {
				break
			}
		}
		io.WriteString(c, "\r\nA\r\n0\r\n\r\n")
		wrote <- n
	}()
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	n := <-wrote
	time.Sleep(100 * time.Millisecond)
	t.Logf("answer %d; extension bytes written %d; server read %d bytes", resp.StatusCode(), n, read.Load())
	if read.Load() > 64<<10 {
		t.Errorf("a 421 with a chunk-extension line of %d bytes: the server read %d bytes, want the body left unread", n, read.Load())
	}
}

// TestMetricsScrapeLogsNoStreamWarning: with StreamRequestBody every
// request with a body, however small, carries a body stream; no handler
// on the admin listener reads one whole, which fasthttp would log as
// "WARNING: Request.Body() reads the entire stream into memory" (a scrape
// sent as a POST with a 2-byte body).
func TestMetricsScrapeLogsNoStreamWarning(t *testing.T) {
	m := metrics.New()
	ln, _, logs := adminTestServer(t, adminHandler(adminLoopback, "", nil, console.New(), m.Handler()))
	for _, raw := range []string{
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}",
	} {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		var resp fasthttp.Response
		err = resp.Read(bufio.NewReader(c))
		c.Close()
		warned := strings.Contains(logs.String(), "reads the entire stream")
		t.Logf("%q: %v %d; WARNING logged so far: %v", strings.SplitN(raw, "\r\n", 2)[0], err, resp.StatusCode(), warned)
		if warned {
			t.Errorf("%q made fasthttp log its Request.Body() stream warning: a handler on the admin listener reads a streamed body whole", strings.SplitN(raw, "\r\n", 2)[0])
			break
		}
	}
}
