package bodycodec

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// benchCodings are the Content-Encodings of TestDecodeAllocs and
// BenchmarkDecode; identity is the baseline (a copy).
var benchCodings = [][]string{nil, {"gzip"}, {"deflate"}, {"raw-deflate"}, {"br"}, {"gzip", "br"}}

// TestDecodeAllocs pins the steady state: with a dst of enough capacity,
// a decode allocates nothing, for bodies of 300 B and 64 KiB (the latter
// reads beyond one bufio buffer between two stages).
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, size := range []int{300, 64 << 10} {
		data := jsonBody(size)
		for _, applied := range benchCodings {
			body, enc := encode(t, data, applied...), encName(applied)
			dst := make([]byte, 0, len(data))
			runtime.GC() // a cold pool: the warm-up run of AllocsPerRun fills it
			runtime.GC()
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := Decode(dst[:0], body, enc, len(data)); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("Decode(%d bytes, %q) allocs = %v, want 0", len(data), enc, allocs)
			}
		}
	}
}

// BenchmarkDecode decodes JSON bodies of 300 B, 64 KiB and 1 MiB into a dst
// of enough capacity, and into a nil dst (one exact growth). SetBytes is the
// decoded size.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []int{300, 64 << 10, 1 << 20} {
		data := jsonBody(size)
		for _, applied := range benchCodings {
			body, enc := encode(b, data, applied...), encName(applied)
			label := strings.Join(applied, "+")
			if label == "" {
				label = "identity"
			}
			for _, presized := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s", sizeName(size), label)
				if !presized {
					name += "/nil-dst"
				}
				b.Run(name, func(b *testing.B) {
					var dst []byte
					if presized {
						dst = make([]byte, 0, len(data))
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(data)))
					for b.Loop() {
						if _, err := Decode(dst[:0], body, enc, len(data)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
