//go:build faults

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fromIP is an HTTP client whose connections come from the loopback
// address ip, keeping up to conns alive.
func fromIP(ip net.IP, conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
	}}
}

// flood runs until stop: holdConns connections declaring a 10 MiB body
// with a bad key, reopened when serve closes them; and rate requests a
// second with bad keys, half of them on 8 KiB paths, from 20 addresses.
func flood(addr, project string, holdConns, rate int, stop <-chan struct{}, sent *atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range holdConns {
		wg.Go(func() {
			ip := net.IPv4(127, 0, 1, byte(1+i%20))
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				c.Write([]byte("POST /proxy/" + project + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
					strconv.Itoa(10<<20) + "\r\nX-Qanapi-Authorization: qk_aaaaaaaaaaaa_" + strings.Repeat("b", 38) + "\r\n\r\n{\"a\":\"" + strings.Repeat("x", 100)))
				sent.Add(1)
				go func() { <-stop; c.Close() }()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				c.Close()
			}
		})
	}
	longPath := "/proxy/" + project + "/" + strings.Repeat("a/", 4<<10)
	for w := range 20 {
		wg.Go(func() {
			c := fromIP(net.IPv4(127, 0, 2, byte(1+w)), 2)
			tick := time.NewTicker(time.Second / time.Duration(max(1, rate/20)))
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				path := "/api-v1/v1/encrypt"
				if rand.IntN(2) == 0 {
					path = longPath
				}
				bad := fmt.Sprintf("qk_%012d_%038d", rand.IntN(1e9), rand.Int64())
				post(c, "http://"+addr+path, []byte(`{"data":"x"}`), map[string]string{"X-Qanapi-Authorization": bad})
				sent.Add(1)
			}
		})
	}
	return &wg
}

// TestUnauthenticatedFlood: while 1,000 connections declare 10 MiB
// bodies with a bad key and 2,000 requests a second carry bad keys (half
// of them on 8 KiB paths), serve's RSS stays under 256 MiB, a client with
// a valid key keeps more than 80 % of its baseline throughput, and every
// admin change and every authenticated request is in the event log.
func TestUnauthenticatedFlood(t *testing.T) {
	raiseFileLimit(t, 8000)
	n := startNode(t, baseConfig)
	project := n.createProject(t, "")
	key := n.createKey(t, project)
	const window = 5 * time.Second
	latencies(n, key.Key, 4, time.Second) // warm up
	base, bf := latencies(n, key.Key, 4, window)

	stop := make(chan struct{})
	var sent atomic.Int64
	wg := flood(strings.TrimPrefix(n.dataURL, "http://"), project, 1000, 2000, stop, &sent)
	time.Sleep(2 * time.Second)
	var maxRSS atomic.Int64
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			maxRSS.Store(max(maxRSS.Load(), rssBytes(t, n.Pid())))
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	created := 0
	var adminWG sync.WaitGroup
	adminWG.Go(func() {
		for range 20 {
			if st, _, err := n.admin("POST", "/admin/v1/projects/"+project+"/keys", "{}"); err == nil && st == 201 {
				created++
			}
			time.Sleep(window / 25)
		}
	})
	under, uf := latencies(n, key.Key, 4, window)
	adminWG.Wait()
	close(stop)
	wg.Wait()
	<-sampling

	ratio := float64(len(under)) / float64(len(base))
	t.Logf("valid traffic: %.0f req/s baseline, %.0f req/s under the flood (%.0f %%); flood requests and connections sent: %d; serve RSS max %.1f MiB; %d admin creates answered",
		float64(len(base))/window.Seconds(), float64(len(under))/window.Seconds(), 100*ratio, sent.Load(), float64(maxRSS.Load())/(1<<20), created)
	if ratio <= 0.8 || bf+uf != 0 {
		t.Errorf("valid throughput under the flood = %.0f %% of baseline (%d failed), want > 80 %% and none failed", 100*ratio, bf+uf)
	}
	if maxRSS.Load() >= 256<<20 {
		t.Errorf("serve RSS under the flood = %d MiB, want < 256", maxRSS.Load()>>20)
	}
	time.Sleep(500 * time.Millisecond) // the last flush
	if got, want := n.countEvents(t, project, "type=request&key_id="+key.ID), len(base)+len(under); got < want {
		t.Errorf("request events of the valid key = %d, want at least the %d answered in the measured windows", got, want)
	} else {
		t.Logf("request events of the valid key: %d (%d answered in the measured windows, plus the warm-up)", got, want)
	}
	if got := n.countEvents(t, project, "type=key.created"); got != created+1 {
		t.Errorf("key.created events = %d, want %d", got, created+1)
	}
	if d := n.metric(t, "sdproxy_events_dropped_total"); d != 0 {
		t.Errorf("sdproxy_events_dropped_total = %.0f, want 0", d)
	}
	n.verifyOnline(t)
	n.noPanic(t)
}
