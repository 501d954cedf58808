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
