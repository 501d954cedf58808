package events

import (
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriter measures the writer's cost per request event as fast
// as it can go: queueing, encoding, chaining, blocks and their index,
// one bbolt transaction per batch of up to 4096.
func BenchmarkWriter(b *testing.B) { benchWriter(b, false, 0) }

// BenchmarkWriterNoSync is BenchmarkWriter without fsync: the writer's
// CPU cost per request event without the disk's, which varies most.
func BenchmarkWriterNoSync(b *testing.B) { benchWriter(b, true, 0) }

// BenchmarkWriter20k submits request events at 20,000 a second, as a
// busy proxy does, with the default batching (a transaction, with fsync,
// every 100 ms) and reports two figures per event:
//   - writer-cpu-ns/event, the writer's own cost: the CPU time (user and
//     system, fsync included) of the thread the writer goroutine is
//     locked to for the benchmark, from its start to Close;
//   - cpu-ns/event, the whole process's CPU time (filling and submitting
//     the record and the garbage collector included) less that of the
//     same pacing loop without events (pacing-ns/event, measured first).
//     Sleeping a millisecond a thousand times a second costs about a
//     microsecond per event on a VM and swings between the two loops,
//     so this one is noisy; it can even come out below the writer's.
//
// ns/op is the pacing (~50,000) and means nothing here.
func BenchmarkWriter20k(b *testing.B) { benchWriter(b, false, 20_000) }

func BenchmarkWriter20kNoSync(b *testing.B) { benchWriter(b, true, 20_000) }

// benchWriter submits b.N request events, at rate a second when rate is
// not zero, and closes the log.
func benchWriter(b *testing.B, noSync bool, rate int) {
	queue := 0 // paced: the default queue, as a proxy runs
	if rate == 0 {
		queue = 1 << 20 // as fast as it goes: room for every event
	}
	writerCPU := int64(-1)
	writerHook = func() func() {
		runtime.LockOSThread()
		t0 := threadCPU()
		return func() {
			if t0 >= 0 {
				writerCPU = threadCPU() - t0
			}
		}
	}
	defer func() { writerHook = nil }()
	l, err := Open(b.TempDir(), Options{MasterKey: testKey, PruneEvery: time.Hour, QueueSize: queue,
		InstanceID: benchInstance, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	l.db.NoSync = noSync
	var pacing int64
	if rate > 0 {
		pace := pacer(rate)
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			pace(i)
		}
		pacing = cpuTime() - c0
	}
	b.ReportAllocs()
	at := time.Now()
	pace := pacer(rate)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pace(i)
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
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0-pacing)/float64(b.N), "cpu-ns/event")
	if writerCPU >= 0 { // read after Close: the writer has ended
		b.ReportMetric(float64(writerCPU)/float64(b.N), "writer-cpu-ns/event")
	}
	if rate > 0 {
		b.ReportMetric(float64(pacing)/float64(b.N), "pacing-ns/event")
	}
	if l.Dropped() != 0 {
		b.Fatalf("dropped %d events", l.Dropped())
	}
}

// pacer returns a func that, called before each event i, sleeps so that
// events go at rate a second (in steps of a millisecond); rate 0 means
// no pacing.
func pacer(rate int) func(i int) {
	if rate == 0 {
		return func(int) {}
	}
	const tick = time.Millisecond
	perTick := max(1, rate/int(time.Second/tick))
	var next time.Time
	return func(i int) {
		if i%perTick != 0 {
			return
		}
		if next.IsZero() {
			next = time.Now()
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkWriteBatch is the writer's transaction alone: 2,000 request
// events (what 100 ms at 20,000 a second bring) encoded, chained, put in
// blocks with their index and committed, with fsync. It has none of
// Writer20k's pacing, queueing or cold caches, so it varies less: use it
// to compare changes to the write path. ns/op is per transaction;
// ns/event is wall time, which includes waiting for the disk, and
// cpu-ns/event the process's CPU time (fsync's share in the kernel
// included), per event.
func BenchmarkWriteBatch(b *testing.B) { benchWriteBatch(b, false) }

// BenchmarkWriteBatchNoSync is BenchmarkWriteBatch without fsync.
func BenchmarkWriteBatchNoSync(b *testing.B) { benchWriteBatch(b, true) }

func benchWriteBatch(b *testing.B, noSync bool) {
	l, err := Open(b.TempDir(), Options{MasterKey: testKey, PruneEvery: time.Hour, CheckpointEvery: -1,
		InstanceID: benchInstance, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.db.NoSync = noSync
	batch := make([]item, 2000)
	for i := range batch {
		batch[i] = item{req: benchRequest()}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.write(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	events := float64(b.N * len(batch))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(float64(cpuTime()-cpu0)/events, "cpu-ns/event")
}

// benchInstance is an instance id as sdproxy serve makes one (inst_ and
// 16 letters): every event a server records carries it.
const benchInstance = "inst_abcdefghijklmnop"

// benchRequest is the request event the benchmarks record: a typical
// encrypt of two fields through the proxy.
func benchRequest() *Request {
	r := new(Request)
	fillBenchRequest(r, time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.UTC))
	return r
}

// fillBenchRequest fills r as benchRequest is, at time at.
func fillBenchRequest(r *Request, at time.Time) {
	r.Time, r.ProjectID, r.KeyID, r.Mode, r.Status = at, "prj_abcdefghijkl", "qk_abcdefghijkl", "encrypt", 200
	r.Latency, r.Upstream = 1234*time.Microsecond, 1000*time.Microsecond
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte("/proxy/prj_abcdefghijkl/posts"))
	r.SetFields([]byte("title,body"))
	r.SetRequestID([]byte("req_0a1b2c3d-42"))
	r.SetClientIP([]byte("127.0.0.1"))
}

// BenchmarkWriteCycle is one flush of the writer as a busy proxy makes
// it, in one goroutine so that it varies less than Writer20k: 2,000
// pooled records are taken, filled and submitted (not counted), the
// CPU's caches are filled with other data as 100 ms of other work would,
// and then the writer's drain — encoding, chaining, blocks, index, the
// commit with fsync, releasing the records — is timed on its thread's
// CPU clock: writer-cpu-ns/event.
func BenchmarkWriteCycle(b *testing.B) {
	l, err := Open(b.TempDir(), Options{MasterKey: testKey, PruneEvery: time.Hour, CheckpointEvery: -1,
		BatchDelay: time.Hour, InstanceID: benchInstance, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	other := make([]byte, 8<<20)
	var batch []item
	var cpu int64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		at := time.Now()
		for j := 0; j < 2000; j++ {
			r := l.Acquire()
			fillBenchRequest(r, at)
			l.Submit(r)
		}
		for j := 0; j < len(other); j += 64 {
			other[j]++
		}
		t0 := threadCPU()
		batch = l.drain(batch)
		cpu += threadCPU() - t0
	}
	b.ReportMetric(float64(cpu)/float64(b.N*2000), "writer-cpu-ns/event")
	if l.Dropped() != 0 {
		b.Fatalf("dropped %d events", l.Dropped())
	}
}
