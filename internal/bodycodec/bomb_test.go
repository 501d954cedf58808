package bodycodec

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	brrr "github.com/molecule-man/go-brrr"
)

// bombSize is what each bomb decodes to: 64 MiB of zeros.
const bombSize = 64 << 20

// bombs returns the 64 MiB bombs by Content-Encoding, made once: gzip and
// deflate (about 65 KB each), br with the largest window (about 12 KB),
// and a gzip of the gzip bomb.
var bombs = sync.OnceValue(func() map[string][]byte {
	raw := deflateZeros(bombSize >> 20)
	zeros := make([]byte, 1<<20)
	crc, adler := uint32(0), uint32(1)
	for range bombSize >> 20 {
		crc, adler = crc32.Update(crc, crc32.IEEETable, zeros), adler32Update(adler, zeros)
	}
	gz := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, raw...)
	gz = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(gz, crc), bombSize)
	zl := binary.BigEndian.AppendUint32(append([]byte{0x78, 0xda}, raw...), adler)
	var br bytes.Buffer
	w, err := brrr.NewWriterOptions(&br, 1, brrr.WriterOptions{LGWin: 24})
	for range bombSize >> 20 {
		if err == nil {
			_, err = w.Write(zeros)
		}
	}
	if err != nil || w.Close() != nil {
		panic(fmt.Sprint("br bomb: ", err))
	}
	gzgz, err := tryCompress("gzip", gz)
	if err != nil {
		panic(err)
	}
	return map[string][]byte{"gzip": gz, "deflate": zl, "br": br.Bytes(), "gzip, gzip": gzgz}
})

// deflateZeros returns a raw deflate stream of n MiB of zeros without
// compressing them all: the stream of the second MiB, after a flush, only
// refers back to zeros and ends byte-aligned, so it can be repeated.
func deflateZeros(n int) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	_, _ = w.Write(zeros)
	_ = w.Flush()
	head := b.Len()
	_, _ = w.Write(zeros)
	_ = w.Flush()
	mid := b.Len()
	_ = w.Close()
	all := b.Bytes()
	out := slices.Clone(all[:head])
	for range n - 1 {
		out = append(out, all[head:mid]...)
	}
	return append(out, all[mid:]...)
}

// adler32Update is hash/adler32's update, which the package does not export.
func adler32Update(adler uint32, p []byte) uint32 {
	const mod = 65521
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		q := p[:min(len(p), 5552)]
		p = p[len(q):]
		for _, x := range q {
			s1 += uint32(x)
			s2 += s1
		}
		s1, s2 = s1%mod, s2%mod
	}
	return s2<<16 | s1
}

// TestDecodeBomb decodes each bomb with a 10 MiB limit: it must fail with
// ErrTooLarge, and the bytes allocated during the call (TotalAlloc, which
// counts every allocation, freed or not) must stay under the limit plus a
// few MiB: the 10 MiB of chunks (pooled, so a second call allocates almost
// nothing) and the decoders. br's window (16 MiB here) comes on top, as
// its format requires, and is reached by doubling.
func TestDecodeBomb(t *testing.T) {
	const limit = 10 << 20
	for enc, body := range bombs() {
		t.Run(enc, func(t *testing.T) {
			budget := uint64(limit + 4<<20)
			if enc == "br" {
				// go-brrr's ring buffer grows by doubling up to the
				// 2^24 window, the old ones left to the collector: 1+2+…+16 MiB.
				budget += 32 << 20
			}
			for run := range 3 {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				got, err := Decode(nil, body, []byte(enc), limit)
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, ErrTooLarge) || got != nil {
					t.Fatalf("Decode(%d-byte %s bomb, limit %d) = %d bytes, %v; want nil, ErrTooLarge", len(body), enc, limit, len(got), err)
				}
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("run %d: %d-byte %s bomb of %d MiB, limit 10 MiB: refused in %v, TotalAlloc +%.2f MiB, HeapInuse %+.2f MiB",
					run, len(body), enc, bombSize>>20, took.Round(time.Millisecond), float64(alloc)/(1<<20),
					(float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20))
				if alloc > budget {
					t.Errorf("Decode(%s bomb, limit 10 MiB) allocated %d bytes, want at most %d", enc, alloc, budget)
				}
			}
		})
	}
}

// TestDecodeBombWithinLimit checks the other side, and the bombs: with a
// limit of the decoded size, each decodes (checksums included) to 64 MiB of
// zeros, into one exactly grown dst.
func TestDecodeBombWithinLimit(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("decodes 64 MiB per bomb: too slow for -short or the race detector")
	}
	for enc, body := range bombs() {
		got, err := Decode(nil, body, []byte(enc), bombSize)
		if err != nil || len(got) != bombSize || bytes.ContainsFunc(got, func(r rune) bool { return r != 0 }) {
			t.Fatalf("Decode(%s bomb, limit %d) = %d bytes, %v; want %d zeros", enc, bombSize, len(got), err, bombSize)
		}
		if cap(got) > bombSize+bombSize/8 {
			t.Errorf("Decode(%s bomb) grew dst to cap %d for %d bytes, want one exact growth", enc, cap(got), bombSize)
		}
	}
}
