package events

import (
	"log/slog"
	"testing"
	"time"
)

// BenchmarkWriter measures the writer's cost per request event: queueing,
// encoding, chaining and one bbolt transaction per batch of 4096.
func BenchmarkWriter(b *testing.B) { benchWriter(b, false) }

// BenchmarkWriterNoSync is BenchmarkWriter without fsync: the writer's
// CPU cost per request event (encoding, chaining, signing the head,
// bbolt's work), without the disk's, which dominates and varies most.
func BenchmarkWriterNoSync(b *testing.B) { benchWriter(b, true) }

// benchWriter submits b.N request events and closes the log.
func benchWriter(b *testing.B, noSync bool) {
	l, err := Open(b.TempDir(), Options{MasterKey: testKey, PruneEvery: time.Hour, QueueSize: 1 << 20,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	l.db.NoSync = noSync
	b.ReportAllocs()
	at := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := l.Acquire()
		r.Time, r.ProjectID, r.KeyID, r.Mode, r.Status = at, "prj_abcdefghijkl", "qk_abcdefghijkl", "encrypt", 200
		r.SetMethod([]byte("POST"))
		r.SetPath([]byte("/proxy/prj_abcdefghijkl/posts"))
		r.SetFields([]byte("title,body"))
		r.SetRequestID([]byte("req_0a1b2c3d-42"))
		r.SetClientIP([]byte("127.0.0.1"))
		l.Submit(r)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l.Dropped() != 0 {
		b.Fatalf("dropped %d events", l.Dropped())
	}
}
