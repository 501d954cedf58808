package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/klauspost/compress/s2"
)

// BenchmarkWriteFloor is the least any writer that keeps this log's
// guarantees pays per request event on this machine: each event's
// record encoded and chained with its HMAC tag as the writer does it,
// the flush's 2,000 entries compressed in blocks, and one write and one
// fdatasync per flush (a crash loses at most one flush) — with no index,
// no head, no page management: an append-only file with nothing else.
// Compare it with WriteBatch in alternating runs: the difference is
// what any other storage design could save at most.
func BenchmarkWriteFloor(b *testing.B) { benchWriteFloor(b, true) }

// BenchmarkWriteFloorNoSync is WriteFloor without the fdatasync.
func BenchmarkWriteFloorNoSync(b *testing.B) { benchWriteFloor(b, false) }

func benchWriteFloor(b *testing.B, sync bool) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "segment"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m := hmac.New(sha256.New, testKey[:])
	batch := make([]*Request, 2000)
	for i := range batch {
		batch[i] = benchRequest()
	}
	buf := make([]byte, 0, blockCap)
	z := make([]byte, 0, 2*s2.MaxEncodedLen(blockCap))
	prev := make([]byte, tagSize)
	var seq uint64
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z = z[:0]
		buf = buf[:0]
		for _, r := range batch {
			seq++
			var at int
			buf, at = beginBinEntry(buf, seq, prev, false)
			buf = appendRecord(buf, benchInstance, r)
			buf = endBinEntry(m, buf, at)
			copy(prev, binEntryMAC(buf[at:]))
			if len(buf) >= blockMaxBytes {
				z = append(z, s2.EncodeSnappy(z[len(z):cap(z)], buf)...)
				buf = buf[:0]
			}
		}
		z = append(z, s2.EncodeSnappy(z[len(z):cap(z)], buf)...)
		if _, err := f.Write(z); err != nil {
			b.Fatal(err)
		}
		if !sync {
			continue
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	events := float64(b.N * len(batch))
	b.ReportMetric(float64(cpuTime()-cpu0)/events, "cpu-ns/event")
}
