package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
)

type fakeQueue struct{}

func (fakeQueue) QueueDepth() int     { return 7 }
func (fakeQueue) Dropped() uint64     { return 3 }
func (fakeQueue) Written() uint64     { return 11 }
func (fakeQueue) SinkDropped() uint64 { return 13 }

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	m.Handler()(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("/metrics = %d", ctx.Response.StatusCode())
	}
	return string(ctx.Response.Body())
}

func TestObserveRequestMovesCounters(t *testing.T) {
	m := New()
	m.WatchQueue(fakeQueue{})
	m.WatchAuthFailures(func() float64 { return 5 }, func() float64 { return 2 })
	for _, r := range []events.Request{
		{ProjectID: "prj_a", Mode: "encrypt", Status: 200, Latency: 2 * time.Millisecond, Upstream: 1500 * time.Microsecond},
		{ProjectID: "prj_a", Mode: "encrypt", Status: 200},
		{ProjectID: "prj_a", Status: 401},
		{ProjectID: "prj_a", Mode: "decrypt", Status: 429, RateLimited: true},
		{ProjectID: "prj_a", Mode: "decrypt", Status: 429}, // a decrypt budget's: not rate limiting
		{ProjectID: "prj_a", Mode: "encrypt", Status: 504, Latency: 40 * time.Millisecond, Upstream: 30 * time.Millisecond},
		{ProjectID: "prj_a", Status: 200, ResponseValues: 3, Untransformed: 2},
	} {
		r.SetFields([]byte("a, b"))
		m.ObserveRequest(&r)
	}
	out := scrape(t, m)
	for _, want := range []string{
		`sdproxy_requests_total{mode="encrypt",project="prj_a",status="200"} 2`,
		`sdproxy_fields_transformed_total{mode="encrypt"} 4`,
		`sdproxy_auth_failures_total 5`,
		`sdproxy_admin_auth_failures_total 2`,
		`sdproxy_rate_limited_total{project="prj_a"} 1`,
		`sdproxy_response_values_total 3`,
		`sdproxy_untransformed_values_total 2`,
		`sdproxy_upstream_errors_total{project="prj_a",status="504"} 1`,
		`sdproxy_request_duration_seconds_count{mode="encrypt"} 3`,
		// Only the two requests that went upstream: 1.5 ms and 30 ms.
		`sdproxy_upstream_duration_seconds_count 2`,
		`sdproxy_upstream_duration_seconds_sum 0.0315`,
		`sdproxy_upstream_duration_seconds_bucket{le="0.0025"} 1`,
		`sdproxy_upstream_duration_seconds_bucket{le="0.05"} 2`,
		`sdproxy_event_queue_depth 7`,
		`sdproxy_events_dropped_total 3`,
		`sdproxy_events_written_total 11`,
		`sdproxy_event_sink_dropped_total 13`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestDecryptBudgetGauge(t *testing.T) {
	m := New()
	list := []BudgetSample{{Project: "prj_a", Key: "qk_1", Remaining: 9812}}
	m.WatchDecryptBudgets(func() []BudgetSample { return list })
	if out := scrape(t, m); !strings.Contains(out, `sdproxy_decrypt_budget_remaining{key="qk_1",project="prj_a"} 9812`) {
		t.Errorf("/metrics lacks the budget gauge:\n%s", out)
	}
	list = nil // the key was revoked
	if out := scrape(t, m); strings.Contains(out, `sdproxy_decrypt_budget_remaining{`) {
		t.Errorf("/metrics still has a series for a key no longer listed")
	}
}

// BenchmarkObserveRequest is the metrics work the event writer does for
// each request event.
func BenchmarkObserveRequest(b *testing.B) {
	m := New()
	r := &events.Request{ProjectID: "prj_abcdefghijkl", Mode: "encrypt", Status: 200,
		Latency: 1234 * time.Microsecond, Upstream: time.Millisecond}
	r.SetFields([]byte("title,body"))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.ObserveRequest(r)
	}
}

// TestLiveHeapExported: go_gc_heap_live_bytes (what the soak test and
// operators watch for leaks) is on /metrics, with the usual Go metrics.
func TestLiveHeapExported(t *testing.T) {
	out := scrape(t, New())
	for _, name := range []string{"\ngo_gc_heap_live_bytes ", "\ngo_memstats_heap_inuse_bytes ", "\ngo_goroutines "} {
		if !strings.Contains(out, name) {
			t.Errorf("/metrics has no %s", strings.TrimSpace(name))
		}
	}
}

// TestDeletedProjectSeriesDropped: the series of a project that no longer
// exists are gone at the next scrape, those of the others stay, and a
// late request of the deleted project (its event still queued) shows
// only until the scrape after it.
func TestDeletedProjectSeriesDropped(t *testing.T) {
	m := New()
	live := map[string]bool{"prj_a": true, "prj_b": true}
	m.WatchProjects(func(p string) bool { return live[p] })
	observe := func(p string) {
		for _, r := range []events.Request{
			{ProjectID: p, Mode: "encrypt", Status: 200},
			{ProjectID: p, Mode: "encrypt", Status: 429, RateLimited: true},
			{ProjectID: p, Mode: "encrypt", Status: 502},
		} {
			m.ObserveRequest(&r)
		}
	}
	series := func(p string) []string {
		return []string{
			`sdproxy_requests_total{mode="encrypt",project="` + p + `",status="200"} `,
			`sdproxy_rate_limited_total{project="` + p + `"} `,
			`sdproxy_upstream_errors_total{project="` + p + `",status="502"} `,
		}
	}
	observe("prj_a")
	observe("prj_b")
	out := scrape(t, m)
	for _, s := range append(series("prj_a"), series("prj_b")...) {
		if !strings.Contains(out, s) {
			t.Fatalf("/metrics lacks %q before the deletion", s)
		}
	}
	delete(live, "prj_a")
	out = scrape(t, m)
	for _, s := range series("prj_a") {
		if strings.Contains(out, s) {
			t.Errorf("/metrics still has %q after prj_a was deleted", s)
		}
	}
	for _, s := range series("prj_b") {
		if !strings.Contains(out, s+"1") {
			t.Errorf("/metrics lacks %q1: another project's series went too", s)
		}
	}
	observe("prj_a") // a request of prj_a written after the scrape
	if out = scrape(t, m); strings.Contains(out, `project="prj_a"`) {
		t.Errorf("/metrics still has prj_a's series after a late request:\n%s", out)
	}
	observe("prj_b")
	if out = scrape(t, m); !strings.Contains(out, series("prj_b")[0]+"2") {
		t.Errorf("prj_b's requests were not counted on after the deletion of prj_a")
	}
}
