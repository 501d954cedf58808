package proxy

import (
	"strconv"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/keystore"
)

func TestLimiterTable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := keystore.RateLimit{RequestsPerSecond: 2, Burst: 3}
	steps := []struct {
		at                    time.Duration
		allowed               bool
		remaining             int
		reset, retryAfterSecs int64
	}{
		{0, true, 2, 1, 0},
		{0, true, 1, 1, 0},
		{0, true, 0, 2, 0},
		{0, false, 0, 2, 1},
		{500 * time.Millisecond, true, 0, 2, 0},
		{2 * time.Second, true, 2, 1, 0},
	}
	l := newLimiters(time.Minute)
	for i, s := range steps {
		r := l.allow("qk_a", cfg, t0.Add(s.at))
		got := [4]int64{b2i(r.allowed), int64(r.remaining), ceilSeconds(r.reset, 0), 0}
		if !r.allowed {
			got[3] = ceilSeconds(r.retryAfter, 1)
		}
		want := [4]int64{b2i(s.allowed), int64(s.remaining), s.reset, s.retryAfterSecs}
		if got != want {
			t.Errorf("step %d at +%s: allow = %v, want %v (allowed, remaining, reset, retry-after)", i, s.at, got, want)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestLimiterEvictsOnlyFullIdleBuckets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiters(time.Minute)
	fast := keystore.RateLimit{RequestsPerSecond: 100, Burst: 10}
	slow := keystore.RateLimit{RequestsPerSecond: 0.001, Burst: 5} // refills one token in 1000 s
	for i := 0; i < 1000; i++ {
		l.allow("qk_fast"+strconv.Itoa(i), fast, t0)
	}
	l.allow("qk_slow", slow, t0)
	if n := l.len(); n != 1001 {
		t.Fatalf("buckets = %d, want 1001", n)
	}
	// Two minutes later a new key triggers a sweep: the fast buckets are
	// full again and go; the slow one is still refilling and stays, so
	// dropping it cannot hand out tokens it has not earned.
	l.allow("qk_new", fast, t0.Add(2*time.Minute))
	if n := l.len(); n != 2 {
		t.Errorf("buckets after the sweep = %d, want 2 (the slow one and the new one)", n)
	}
	if r := l.allow("qk_slow", slow, t0.Add(2*time.Minute)); r.remaining != 3 {
		t.Errorf("slow bucket remaining = %d, want 3 (kept across the sweep)", r.remaining)
	}
}

// TestLimiterShare: with n instances sharing the store, a bucket holds 1/n
// of the rate and the burst (at least 1), and takes a new size at its
// next request when n changes.
func TestLimiterShare(t *testing.T) {
	cases := []struct {
		cfg  keystore.RateLimit
		n    int64
		want keystore.RateLimit
	}{
		{keystore.RateLimit{RequestsPerSecond: 90, Burst: 30}, 0, keystore.RateLimit{RequestsPerSecond: 90, Burst: 30}},
		{keystore.RateLimit{RequestsPerSecond: 90, Burst: 30}, 1, keystore.RateLimit{RequestsPerSecond: 90, Burst: 30}},
		{keystore.RateLimit{RequestsPerSecond: 90, Burst: 30}, 3, keystore.RateLimit{RequestsPerSecond: 30, Burst: 10}},
		{keystore.RateLimit{RequestsPerSecond: 10, Burst: 5}, 2, keystore.RateLimit{RequestsPerSecond: 5, Burst: 2}},
		{keystore.RateLimit{RequestsPerSecond: 1, Burst: 2}, 4, keystore.RateLimit{RequestsPerSecond: 0.25, Burst: 1}},
	}
	for _, c := range cases {
		if got := share(c.cfg, c.n); got != c.want {
			t.Errorf("share(%+v, %d) = %+v, want %+v", c.cfg, c.n, got, c.want)
		}
	}

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := keystore.RateLimit{RequestsPerSecond: 6, Burst: 6}
	l := newLimiters(time.Minute)
	l.setInstances(3)
	allowed := 0
	for range 10 {
		if r := l.allow("qk_a", cfg, t0); r.allowed {
			allowed++
		}
	}
	if allowed != 2 {
		t.Errorf("with 3 instances, a burst of 6 allowed %d at once here, want 2", allowed)
	}
	if r := l.allow("qk_a", cfg, t0.Add(500*time.Millisecond)); !r.allowed || r.limit != 2 {
		t.Errorf("after 0.5 s at 2/s: allow = %+v, want allowed, limit 2", r)
	}
	l.setInstances(1) // the others left: the whole limit is this instance's again
	if r := l.allow("qk_a", cfg, t0.Add(time.Second)); !r.allowed || r.limit != 6 {
		t.Errorf("back to 1 instance: allow = %+v, want allowed, limit 6", r)
	}
}

// TestLimiterShareAllocs: a request under a shared limit allocates
// nothing, as under a whole one.
func TestLimiterShareAllocs(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := keystore.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}
	l := newLimiters(time.Minute)
	l.setInstances(3)
	l.allow("qk_a", cfg, t0)
	if n := testing.AllocsPerRun(100, func() { l.allow("qk_a", cfg, t0) }); n != 0 {
		t.Errorf("allow with 3 instances: %v allocations, want 0", n)
	}
}
