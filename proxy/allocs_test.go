//go:build !race

// The race detector makes sync.Pool drop items at random, so these pins
// run without it (make test runs go test -run Allocs).

package proxy

import (
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/events"
)

// Allocation pins of the Smart Data Proxy, measured with Data.Handler on
// a reused RequestCtx (see rtRig) forwarding to an in-memory upstream that
// allocates nothing itself. A number above the pin is a regression; one
// below it is logged so the pin can be tightened.
func TestAllocsProxy(t *testing.T) {
	cases := []struct {
		c    rtBenchCase
		want float64
		why  string
	}{
		{rtBenchCases[0], 0, "pass-through: auth, limit, forward"},
		{rtBenchCases[1], 0, "2 fields of 300 B encrypted and forwarded (parsed field lists are cached)"},
		{rtBenchCases[2], 0, "2 fields encrypted, answered directly"},
		{rtBenchCases[3], 0, "pass-through in a project with 1,000 routes, none matching"},
		{rtBenchCases[4], 0, "a route decrypts 2 fields of the upstream's 300 B answer"},
		{rtBenchCases[6], 0, "pass-through; the upstream's Server-Timing passed on next to the proxy's"},
		{rtBenchCases[7], 0, "as response-2-fields, with a decrypt budget (one store write per 65,536 values, amortised)"},
	}
	for _, tc := range cases {
		t.Run(tc.c.name, func(t *testing.T) {
			r := newRTRig(t, tc.c)
			for range 20 { // warm the pools, the bucket and the upstream connection
				r.check(t)
			}
			checkServerTiming(t, r, tc.c)
			ok := true
			got := testing.AllocsPerRun(1000, func() { ok = r.serve() && ok })
			if !ok {
				t.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
			}
			if got > tc.want {
				t.Errorf("Data.Handler(%s) allocs = %v, want %v (%s)", tc.c.name, got, tc.want, tc.why)
			}
			if got < tc.want {
				t.Logf("Data.Handler(%s) allocs = %v, below the pin %v: tighten it", tc.c.name, got, tc.want)
			}
		})
	}
}

// checkServerTiming checks that the answer of r has the proxy's
// Server-Timing line, after the upstream's own when it sent one.
func checkServerTiming(t *testing.T, r *rtRig, c rtBenchCase) {
	t.Helper()
	var lines []string
	for _, v := range r.ctx.Response.Header.PeekAll(HeaderServerTiming) {
		lines = append(lines, string(v))
	}
	n := 1
	if c.timing {
		n = 2
		if len(lines) != n || lines[0] != rtUpstreamTiming {
			t.Fatalf("Data.Handler(%s) Server-Timing = %q, want %q and the proxy's line", c.name, lines, rtUpstreamTiming)
		}
	}
	want := "proxy;dur="
	if c.forward {
		want = "upstream;dur="
	}
	if len(lines) != n || !strings.HasPrefix(lines[n-1], "proxy;dur=") || !strings.Contains(lines[n-1], want) {
		t.Fatalf("Data.Handler(%s) Server-Timing = %q, want the proxy's line with %s", c.name, lines, want)
	}
}

// recycleSink is an EventSink that hands records straight back to its
// pool, so the test counts what recording costs the request path alone.
type recycleSink struct{ pool sync.Pool }

func (s *recycleSink) Acquire() *events.Request {
	if r, ok := s.pool.Get().(*events.Request); ok {
		return r
	}
	return new(events.Request)
}

func (s *recycleSink) Submit(r *events.Request) { s.pool.Put(r) }

func TestAllocsProxyWithEvents(t *testing.T) {
	for _, c := range rtBenchCases {
		t.Run(c.name, func(t *testing.T) {
			r := newRTRig(t, c)
			sink := &recycleSink{}
			r.data.events = sink
			for range 20 {
				r.check(t)
			}
			got := testing.AllocsPerRun(1000, func() { r.serve() })
			if got != 0 {
				t.Errorf("Data.Handler(%s) with an event sink allocs = %v, want 0", c.name, got)
			}
		})
	}
}
