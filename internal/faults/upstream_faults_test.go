//go:build faults

package faults

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstreamTimeout is the proxy's fixed read/write timeout towards an
// upstream (docs/proxy.md).
const upstreamTimeout = 30 * time.Second

// fakeUpstream listens on loopback and answers the first request it gets
// with 200 (so that serve's client for it exists before the baseline is
// taken), then treats every later request with handle (on the same
// connection or a new one). It is closed when the test ends, and done is
// closed then too.
func fakeUpstream(t *testing.T, handle func(c net.Conn, r *bufio.Reader, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	var warm atomic.Bool
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				r := bufio.NewReader(c)
				if warm.CompareAndSwap(false, true) {
					readRequest(r)
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
				}
				readRequest(r)
				handle(c, r, done)
			})
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// readRequest reads a request with a Content-Length body off r.
func readRequest(r *bufio.Reader) {
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	io.CopyN(io.Discard, r, int64(length))
}

// resetAfter writes head and body, then resets the connection (RST).
func resetAfter(head, body string) func(net.Conn, *bufio.Reader, <-chan struct{}) {
	return func(c net.Conn, _ *bufio.Reader, _ <-chan struct{}) {
		c.Write([]byte(head + body))
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
}

// TestUpstreamFaults: an upstream that refuses connections gets 502
// within 3 s; one that accepts and never reads, and one that answers after
// the timeout, get 504 at the timeout + 10 %; one that resets in the
// middle of its body (Content-Length or chunked) gets 502 and no part of
// that body. Afterwards serve's goroutines are back to their baseline.
func TestUpstreamFaults(t *testing.T) {
	n := startNode(t, baseConfig)
	refused := "http://" + closedAddr(t)
	blackHole := fakeUpstream(t, func(c net.Conn, _ *bufio.Reader, done <-chan struct{}) { <-done })
	slow := fakeUpstream(t, func(c net.Conn, _ *bufio.Reader, done <-chan struct{}) {
		select {
		case <-done:
		case <-time.After(upstreamTimeout + 5*time.Second):
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
		}
	})
	partial := strings.Repeat("P", 1000)
	resetLen := fakeUpstream(t, resetAfter("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", partial))
	resetChunked := fakeUpstream(t, resetAfter("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3e8\r\n"+partial+"\r\n3e8\r\nPP"))

	cases := []struct {
		name, upstream string
		status         int
		within         time.Duration
		atLeast        time.Duration
	}{
		{"refused", refused, 502, 3 * time.Second, 0},
		{"black hole", blackHole, 504, upstreamTimeout * 11 / 10, upstreamTimeout},
		{"slow", slow, 504, upstreamTimeout * 11 / 10, upstreamTimeout},
		{"reset mid-body (Content-Length)", resetLen, 502, 3 * time.Second, 0},
		{"reset mid-body (chunked)", resetChunked, 502, 3 * time.Second, 0},
	}
	projects, keys := make([]string, len(cases)), make([]string, len(cases))
	for i, tc := range cases {
		projects[i] = n.createProject(t, tc.upstream)
		keys[i] = n.createKey(t, projects[i]).Key
		c := client(1)
		st, b, err := post(c, n.dataURL+"/proxy/"+projects[i]+"/x", []byte(`{"a":1}`), map[string]string{"X-Qanapi-Authorization": keys[i], "Content-Type": "application/json"})
		c.CloseIdleConnections()
		if want := map[bool]int{true: 502, false: 200}[tc.upstream == refused]; err != nil || st != want {
			t.Fatalf("%s: warm-up request = %d %s %v, want %d", tc.name, st, b, err, want)
		}
	}
	time.Sleep(11 * time.Second) // fasthttp's idle workers expire after 10s
	baseline := n.metric(t, "go_goroutines")
	var wg sync.WaitGroup
	for i, tc := range cases {
		project, key := projects[i], keys[i]
		wg.Go(func() {
			for i := range 3 {
				c := client(1)
				start := time.Now()
				st, b, err := post(c, n.dataURL+"/proxy/"+project+"/x", []byte(`{"a":1}`), map[string]string{"X-Qanapi-Authorization": key, "Content-Type": "application/json"})
				took := time.Since(start)
				t.Logf("%s #%d: %d %s after %s", tc.name, i, st, errorCode(b), took.Round(time.Millisecond))
				if err != nil || st != tc.status || took > tc.within || took < tc.atLeast {
					t.Errorf("%s: POST = %d %.200s %v after %s, want %d within [%s, %s]", tc.name, st, b, err, took, tc.status, tc.atLeast, tc.within)
				}
				c.CloseIdleConnections() // its connection must not count as serve's leak
				if strings.Contains(string(b), "PPPP") {
					t.Errorf("%s: the answer carries part of the upstream's cut body: %.200s", tc.name, b)
				}
				if tc.atLeast > 0 {
					return // one timeout per kind is enough
				}
			}
		})
	}
	wg.Wait()
	// Back to the baseline once what the faults left has expired: a
	// pooled upstream connection (and the pool's cleaner goroutine) lives
	// up to the idle timeout of 90 s, so that is how long it may take.
	var now float64
	waitStart := time.Now()
	for time.Since(waitStart) < idleConnTimeout+10*time.Second {
		if now = n.metric(t, "go_goroutines"); now <= baseline {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("goroutines: %.0f before, %.0f after (%s after the last answer)", baseline, now, time.Since(waitStart).Round(100*time.Millisecond))
	if now > baseline {
		t.Errorf("serve's goroutines %s after the upstream faults = %.0f, want back to the baseline %.0f", time.Since(waitStart).Round(time.Second), now, baseline)
	}
	n.noPanic(t)
}

// idleConnTimeout is serve's default upstream idle-connection timeout.
const idleConnTimeout = 90 * time.Second

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
