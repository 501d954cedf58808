package events

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchLogs are the query benchmarks' logs, built once per process.
var benchLogs sync.Map // size → *Log

// queryBenchSize is how many events the query benchmarks' log holds:
// SDPROXY_BENCH_EVENTS, default 1,000,000 (10,000,000 for the figure in
// docs/performance.md: it takes minutes to build and ~6 GB of disk).
func queryBenchSize() int {
	if n, err := strconv.Atoi(os.Getenv("SDPROXY_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchLog writes n events: 10 projects of 10 keys each, one event per
// millisecond; 1 in 100 an admin event, 2 in 100 a failed authentication,
// 1 in 10,000 by the key qk_rare of prj_0, 1 in 100,000 a key.revoked.
func benchLog(b *testing.B, n int) *Log {
	if l, ok := benchLogs.Load(n); ok {
		return l.(*Log)
	}
	dir, err := os.MkdirTemp("", "sdproxy-querybench")
	if err != nil {
		b.Fatal(err)
	}
	l, err := Open(dir, Options{MasterKey: testKey, PruneEvery: time.Hour, CheckpointEvery: -1, MaxCount: uint64(n) + 1,
		MaxAge: 100 * 365 * 24 * time.Hour, QueueSize: 1 << 16, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	l.db.NoSync = true
	start := time.Now()
	for i := 0; i < n; i++ {
		for l.QueueDepth() > 60_000 {
			time.Sleep(time.Millisecond)
		}
		at := benchStart.Add(time.Duration(i) * time.Millisecond)
		project := "prj_" + strconv.Itoa(i%10)
		key := "qk_" + strconv.Itoa(i/10%10)
		switch {
		case i%100_000 == 50_000:
			l.Record(Event{Type: TypeKeyRevoked, Time: at, ProjectID: "prj_0", KeyID: &key, Actor: "admin"})
		case i%100 == 17:
			project = "prj_" + strconv.Itoa(i/100%10)
			l.Record(Event{Type: TypeKeyRotated, Time: at, ProjectID: project, KeyID: &key, Actor: "admin"})
		case i%100 == 31 || i%100 == 73:
			submitStatusTo(l, project, 401, i, at)
		default:
			if i%10_000 == 0 {
				project, key = "prj_0", "qk_rare"
			}
			submit(l, project, key, i, at)
		}
	}
	for l.QueueDepth() > 0 || l.Written() < uint64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	var size int64
	l.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	b.Logf("built a log of %d events in %v: %d bytes used in its file, %.0f per event", n,
		time.Since(start).Round(time.Second), size, float64(size)/float64(n))
	benchLogs.Store(n, l)
	return l
}

func submitStatusTo(l *Log, project string, status, i int, at time.Time) {
	r := l.Acquire()
	r.Time, r.ProjectID, r.Mode, r.Status = at, project, "encrypt", status
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte("/proxy/" + project + "/items"))
	r.SetRequestID([]byte("req_" + strconv.Itoa(i)))
	r.SetClientIP([]byte("10.9.9.9"))
	l.Submit(r)
}

// BenchmarkQuery runs the admin API's queries over a large log and
// reports their 99th percentile (p99-ms) besides the mean.
func BenchmarkQuery(b *testing.B) {
	n := queryBenchSize()
	l := benchLog(b, n)
	mid := benchStart.Add(time.Duration(n/2) * time.Millisecond)
	for _, tc := range []struct {
		name string
		f    Filter
	}{
		{"newest-page", Filter{ProjectID: "prj_3"}},
		{"key", Filter{ProjectID: "prj_3", KeyID: "qk_4"}},
		{"rare-key", Filter{ProjectID: "prj_0", KeyID: "qk_rare"}},
		{"type-request", Filter{ProjectID: "prj_3", Type: TypeRequest}},
		{"type-admin-family", Filter{ProjectID: "prj_3", Type: "key."}},
		{"rare-type", Filter{ProjectID: "prj_0", Type: TypeKeyRevoked}},
		{"time-window-middle", Filter{ProjectID: "prj_3", Since: mid, Until: mid.Add(time.Minute)}},
		{"key-time-window", Filter{ProjectID: "prj_3", KeyID: "qk_4", Since: mid, Until: mid.Add(time.Hour)}},
		{"no-match", Filter{ProjectID: "prj_3", KeyID: "qk_nobody"}},
	} {
		b.Run(fmt.Sprintf("%s/%dM", tc.name, n/1_000_000), func(b *testing.B) {
			b.ReportAllocs()
			times := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				page, _, err := l.Query(tc.f)
				times = append(times, time.Since(t0))
				if err != nil || (len(page) == 0 && tc.name != "no-match") {
					b.Fatalf("Query = %d events, %v", len(page), err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*99/100])/1e6, "p99-ms")
		})
	}
}
