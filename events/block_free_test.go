package events

import (
	"testing"
	"time"
)

// TestBlockBuffersAfterABurst: a transaction that closes many blocks
// (a flush after a stall) leaves no more spare block buffers behind than
// the next, ordinary, transaction used and one more; before, every
// buffer of the largest transaction ever stayed held, a few hundred KiB
// each, which the soak test saw as the live heap stepping up.
func TestBlockBuffersAfterABurst(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: time.Hour})
	defer l.Close()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	batch := func(n int) []item {
		b := make([]item, n)
		for i := range b {
			r := new(Request)
			fillBenchRequest(r, at)
			b[i] = item{req: r}
		}
		return b
	}
	if _, err := l.write(batch(8 * blockMaxEntries)); err != nil { // a burst: 8 blocks closed
		t.Fatal(err)
	}
	burst := len(l.blk.free)
	if burst < 8 {
		t.Fatalf("after a transaction of 8 blocks, %d free buffers: the test does not make the burst it means to", burst)
	}
	if _, err := l.write(batch(10)); err != nil { // an ordinary flush
		t.Fatal(err)
	}
	if n := len(l.blk.free); n > 2 {
		t.Errorf("after a burst of %d blocks and a transaction of 1, %d block buffers kept, want at most 2", burst, n)
	}
}
