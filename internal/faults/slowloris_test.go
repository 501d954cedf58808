//go:build faults

package faults

import (
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	slowConns   = 2000
	readTimeout = 30 * time.Second // the data listener's ReadTimeout (cmd/sdproxy/serve_run.go)
)

// TestSlowloris: 2,000 connections (500 from each of 127.0.0.2–5, under
// the 512-per-IP cap) send a request line and then one header line a
// second, never finishing. Meanwhile normal clients on 127.0.0.1 must
// keep a p99 under twice their baseline, serve's RSS must stay under
// 256 MiB, and serve must close every slow connection at the read
// timeout (30 s, asserted within +10 %).
//
// The p99s are measured in 2 s windows: 4 before the slow connections
// and 4 after serve has closed them (the baseline), 10 while they are
// open. The figure compared is each phase's median window p99, so a few
// seconds in which another tenant of a shared machine takes the CPU
// spoil a window or two, not the verdict (a CI run once measured the
// pooled p99 at 2.2 ms before and 6.2 ms during, with the median
// latency unchanged and a third of the usual requests done). A cost
// that the slow connections add for as long as they are open raises
// every window of theirs, and the median with them.
func TestSlowloris(t *testing.T) {
	raiseFileLimit(t, 3*slowConns+1000)
	n := startNode(t, baseConfig)
	project := n.createProject(t, "")
	key := n.createKey(t, project).Key
	latencies(n, key, 4, time.Second) // warm up
	base, baseP99s, _ := windows(n, key, 4)
	addr := strings.TrimPrefix(n.dataURL, "http://")

	var closedAfter []time.Duration
	var mu sync.Mutex
	var connected, refused atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); wg.Wait() })
	for i := range slowConns {
		wg.Go(func() {
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%4))}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				refused.Add(1)
				return
			}
			defer c.Close()
			start := time.Now()
			connected.Add(1)
			c.Write([]byte("POST /api-v1/v1/encrypt HTTP/1.1\r\nHost: x\r\n"))
			gone := make(chan struct{})
			go func() {
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						mu.Lock()
						closedAfter = append(closedAfter, time.Since(start))
						mu.Unlock()
						close(gone)
						return
					}
				}
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-gone:
					return
				case <-stop:
					return
				case <-tick.C:
					c.Write([]byte("X-Slow: 1\r\n"))
				}
			}
		})
	}
	for connected.Load()+refused.Load() < slowConns {
		time.Sleep(10 * time.Millisecond)
	}
	if refused.Load() != 0 {
		t.Fatalf("%d of %d slow connections could not connect", refused.Load(), slowConns)
	}
	time.Sleep(time.Second)
	under, underP99s, failed := windows(n, key, 10)
	rss := rssBytes(t, n.Pid())
	deadline := time.Now().Add(readTimeout * 3 / 2)
	for {
		mu.Lock()
		done := len(closedAfter)
		mu.Unlock()
		if done == slowConns || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	slices.Sort(closedAfter)
	closed := slices.Clone(closedAfter)
	mu.Unlock()

	after, afterP99s, _ := windows(n, key, 4) // the baseline again, the slow connections gone
	base = append(base, after...)
	slices.Sort(base)
	baseP99s = append(baseP99s, afterP99s...)
	bp99, up99 := medianDuration(baseP99s), medianDuration(underP99s)
	t.Logf("normal clients: baseline p99 %s (median of 2 s windows %s; pooled %s, p50 %s, %d requests); with %d slow connections p99 %s (median of windows %s; pooled %s, p50 %s, %d requests, %d failed); serve RSS %.1f MiB",
		bp99, roundAll(baseP99s), percentile(base, 99), percentile(base, 50), len(base),
		slowConns, up99, roundAll(underP99s), percentile(under, 99), percentile(under, 50), len(under), failed, float64(rss)/(1<<20))
	if len(closed) > 0 {
		t.Logf("slow connections closed by serve: %d of %d, after %s to %s", len(closed), slowConns, closed[0].Round(10*time.Millisecond), closed[len(closed)-1].Round(10*time.Millisecond))
	}
	if up99 >= 2*bp99 || failed != 0 {
		t.Errorf("normal clients' p99 (median of 2 s windows) with %d slow connections = %s (%d failed), want < 2 × baseline %s and none failed", slowConns, up99, failed, bp99)
	}
	if rss >= 256<<20 {
		t.Errorf("serve RSS with %d slow connections = %d MiB, want < 256", slowConns, rss>>20)
	}
	if len(closed) != slowConns || closed[len(closed)-1] > readTimeout*11/10 {
		t.Errorf("slow connections closed by serve within %s = %d of %d, want all", readTimeout*11/10, len(closed), slowConns)
	}
}

// windows measures normal clients (4 workers) in k windows of 2 s: every
// latency, sorted, each window's p99 and the failed requests.
func windows(n *node, key string, k int) (all, p99s []time.Duration, failed int) {
	for range k {
		l, f := latencies(n, key, 4, 2*time.Second)
		all, failed = append(all, l...), failed+f
		p99s = append(p99s, percentile(l, 99))
	}
	slices.Sort(all)
	return all, p99s, failed
}

// medianDuration is the median of d (the upper one of an even count).
func medianDuration(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// roundAll prints d rounded to 10 µs, for a log line.
func roundAll(d []time.Duration) string {
	var b strings.Builder
	for i, x := range d {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x.Round(10 * time.Microsecond).String())
	}
	return b.String()
}
