//go:build faults

package faults

import (
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// latencies sends encrypts with key from workers keep-alive connections
// for d and returns their sorted latencies and how many failed.
func latencies(n *node, key string, workers int, d time.Duration) ([]time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	failed := 0
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range workers {
		wg.Go(func() {
			c := client(1)
			var mine []time.Duration
			bad := 0
			for time.Now().Before(end) {
				start := time.Now()
				st, err := n.encrypt(c, key)
				if err != nil || st != 200 {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all, failed = append(all, mine...), failed+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	return all, failed
}

// raiseFileLimit lifts the test process's open-file limit to its hard
// limit, for thousands of client connections.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur < need {
		l.Cur = min(need, l.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur < need {
			t.Fatalf("open-file limit %d (hard %d), need %d: %v", l.Cur, l.Max, need, err)
		}
	}
}

var _ = http.MethodPost

// steady sends encrypts with key at rate requests a second for d, from
// workers keep-alive connections (each paced at rate/workers; a request
// that takes longer than its interval delays only its own worker), and
// returns how many were answered 200 and how many failed by the end of
// d (requests still due then are not sent: a server that falls behind
// answers fewer). Unlike
// latencies it offers a fixed load, as an application's traffic is,
// rather than as much as the machine lets through.
func steady(n *node, key string, rate, workers int, d time.Duration) (ok, failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	start := time.Now()
	end := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			c := client(1)
			good, bad := 0, 0
			// Workers start spread over one interval, then each sends
			// at start + w*interval/workers + k*interval.
			next := start.Add(time.Duration(w) * interval / time.Duration(workers))
			for next.Before(end) && time.Now().Before(end) {
				time.Sleep(time.Until(next))
				if st, err := n.encrypt(c, key); err == nil && st == 200 {
					good++
				} else {
					bad++
				}
				next = next.Add(interval)
			}
			mu.Lock()
			ok, failed = ok+good, failed+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok, failed
}
