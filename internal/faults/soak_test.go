//go:build faults

package faults

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	soakRequests = 1_000_000
	soakRate     = 8000 // requests a second, paced
	soakWorkers  = 16
	// soakMaxAnon bounds serve's anonymous RSS (heap, stacks) at every
	// sample: about three times what it holds in a soak, so memory that
	// grows without bound fails even when the live heap's trend is hidden.
	soakMaxAnon = 64 << 20
)

// sample is serve's state at one moment of the soak.
type sample struct {
	done       int64
	rss, anon  int64
	heap       float64 // go_memstats_heap_inuse_bytes
	live       float64 // go_gc_heap_live_bytes: the heap the last collection found live
	idle, rel  float64 // go_memstats_heap_idle_bytes, go_memstats_heap_released_bytes
	stack, sys float64 // go_memstats_stack_inuse_bytes, go_memstats_sys_bytes
	goroutines float64
	files      int
}

// TestSoak: 1,000,000 encrypts at a steady soakRate over soakWorkers
// keep-alive connections. From the warmed-up state (the first fifth of the
// requests) to the end, serve's live heap (what each garbage collection
// finds live) may not grow by 10 % (or 1 MiB, if more) along its
// least-squares trend,
// its anonymous RSS (heap, stacks) may not pass soakMaxAnon, and its
// goroutines and open files may not grow; afterwards the event log holds
// an entry for every request and verifies. The anonymous RSS's trend is
// reported, not asserted: how much freed memory the Go runtime keeps
// rather than returns to the OS varies from run to run (+32 % and −14 %
// in runs whose live heap stayed flat), and the whole RSS also counts the
// mapped pages of events.db, which grows by design with the million
// events kept (clean file pages the kernel can reclaim).
func TestSoak(t *testing.T) {
	n := startNode(t, baseConfig+"events:\n  max_count: 2000000\n")
	project := n.createProject(t, "")
	key := n.createKey(t, project).Key
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(n.dataURL, "http://"), MaxConns: soakWorkers, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	body := []byte(`{"data":{"name":"Ada","ssn":"123-45-6789"},"fields":["ssn"]}`)

	var done, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	per := soakRequests / soakWorkers
	for w := range soakWorkers {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(n.dataURL + "/api-v1/v1/encrypt")
			req.Header.SetMethod("POST")
			req.Header.Set("X-Qanapi-Authorization", key)
			req.SetBody(body)
			interval := time.Second * soakWorkers / soakRate
			next := start.Add(time.Duration(w) * interval / soakWorkers)
			for range per {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
				}
				done.Add(1)
			}
		})
	}
	var samples []sample
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for sampling := true; sampling; {
		select {
		case <-finished:
			sampling = false
		case <-time.After(2 * time.Second):
		}
		samples = append(samples, sample{done: done.Load(), rss: rssBytes(t, n.Pid()), anon: anonBytes(t, n.Pid()), heap: n.metric(t, "go_memstats_heap_inuse_bytes"),
			live: n.metric(t, "go_gc_heap_live_bytes"),
			idle: n.metric(t, "go_memstats_heap_idle_bytes"), rel: n.metric(t, "go_memstats_heap_released_bytes"),
			stack: n.metric(t, "go_memstats_stack_inuse_bytes"), sys: n.metric(t, "go_memstats_sys_bytes"),
			goroutines: n.metric(t, "go_goroutines"), files: openFiles(t, n.Pid())})
	}
	took := time.Since(start)
	sent := done.Load()

	var early, late []sample
	for _, s := range samples {
		switch {
		case s.done >= sent/5 && s.done <= sent*3/10:
			early = append(early, s)
		case s.done >= sent*9/10:
			late = append(late, s)
		}
	}
	if len(early) == 0 || len(late) == 0 {
		t.Fatalf("too few samples (%d) for a drift", len(samples))
	}
	e, l := median(early), median(late)
	// The anonymous RSS swings by ±2–3 MiB between samples with the
	// collector's cycles, as much as 10 % of it; two windows of a few
	// samples each compare noise. The drift is the trend instead: a
	// least-squares line through every sample after the first fifth,
	// from its value there to its value at the end.
	from, to := trend(samples, sent/5, sent, func(s sample) float64 { return float64(s.anon) })
	drift := (to - from) / from
	liveFrom, liveTo := trend(samples, sent/5, sent, func(s sample) float64 { return s.live })
	liveDrift := (liveTo - liveFrom) / liveFrom
	var peak int64
	for _, s := range samples {
		peak = max(peak, s.anon)
	}
	t.Logf("%d requests in %s (%.0f req/s), %d failed; live heap (trend) %.1f → %.1f MiB (drift %+.1f %%); anonymous RSS (trend) %.1f → %.1f MiB (drift %+.1f %%, peak %.1f MiB); heap in use %.1f → %.1f MiB; whole RSS, with the mapped pages of the growing event log, %.1f → %.1f MiB; goroutines %.0f → %.0f, open files %d → %d",
		sent, took.Round(time.Second), float64(sent)/took.Seconds(), failed.Load(), liveFrom/(1<<20), liveTo/(1<<20), 100*liveDrift,
		from/(1<<20), to/(1<<20), 100*drift, float64(peak)/(1<<20), e.heap/(1<<20), l.heap/(1<<20),
		float64(e.rss)/(1<<20), float64(l.rss)/(1<<20), e.goroutines, l.goroutines, e.files, l.files)
	if failed.Load() != 0 {
		t.Errorf("failed requests = %d, want 0", failed.Load())
	}
	// A leak grows; memory the runtime gives back to the OS (heap
	// released rising) is not one, and shrinks the RSS by more than 10 %
	// in some runs (-13.8 % once, with the heap in use 11.0 → 7.0 MiB).
	var lives strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&lives, " %.2f", s.live/(1<<20))
	}
	t.Logf("live heap at each sample, MiB:%s", lives.String())
	// The live heap is a few MiB: the bound is 10 % of it or 1 MiB, the
	// larger (1 MiB over the run is a leak of about a byte per request).
	if grew := liveTo - liveFrom; (grew >= 0.10*liveFrom && grew >= 1<<20) || peak >= soakMaxAnon {
		t.Errorf("live heap trend from the warmed-up state to the end = %+.1f %% (%+.2f MiB), want under +10 %% or 1 MiB; anonymous RSS peak %.1f MiB, want under %d MiB; the samples:",
			100*liveDrift, grew/(1<<20), float64(peak)/(1<<20), soakMaxAnon>>20)
		for _, s := range samples { // where the memory went, from the Go runtime's own figures
			t.Logf("%7d done: anonymous RSS %.1f MiB; Go heap live %.1f, in use %.1f, idle %.1f, released %.1f, stacks %.1f, obtained from the OS %.1f MiB",
				s.done, float64(s.anon)/(1<<20), s.live/(1<<20), s.heap/(1<<20), s.idle/(1<<20), s.rel/(1<<20), s.stack/(1<<20), s.sys/(1<<20))
		}
	}
	if l.goroutines > e.goroutines+5 || l.files > e.files+5 {
		t.Errorf("goroutines %.0f → %.0f, open files %d → %d, want flat (at most +5)", e.goroutines, l.goroutines, e.files, l.files)
	}
	hc.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond) // the last flush
	v := n.verifyOnline(t)
	t.Logf("event log: %d entries verified (the soak's requests and 2 admin changes)", v.Checked)
	if v.Checked != uint64(sent)+2 {
		t.Errorf("event log entries = %d, want %d requests + project.created + key.created", v.Checked, sent)
	}
	if d := n.metric(t, "sdproxy_events_dropped_total"); d != 0 {
		t.Errorf("sdproxy_events_dropped_total = %.0f, want 0", d)
	}
}

// median is a sample with the median RSS figures and the largest
// goroutine and file counts of ss.
func median(ss []sample) sample {
	rss, anon, heap := make([]int64, len(ss)), make([]int64, len(ss)), make([]float64, len(ss))
	var m sample
	for i, s := range ss {
		rss[i], anon[i], heap[i] = s.rss, s.anon, s.heap
		m.goroutines, m.files = max(m.goroutines, s.goroutines), max(m.files, s.files)
	}
	slices.Sort(rss)
	slices.Sort(anon)
	slices.Sort(heap)
	m.rss, m.anon, m.heap = rss[len(rss)/2], anon[len(anon)/2], heap[len(heap)/2]
	return m
}

// trend fits a least-squares line to y of the samples with done >= from
// and returns its values at from and at to.
func trend(samples []sample, from, to int64, y func(sample) float64) (atFrom, atTo float64) {
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		if s.done < from {
			continue
		}
		x, y := float64(s.done), y(s)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope := 0.0
	if d := n*sxx - sx*sx; d != 0 {
		slope = (n*sxy - sx*sy) / d
	}
	mean := func(x float64) float64 { return sy/n + slope*(x-sx/n) }
	return mean(float64(from)), mean(float64(to))
}
