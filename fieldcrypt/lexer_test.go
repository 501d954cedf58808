package fieldcrypt

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// caring reports whether c is a control byte, a quote, a backslash or
// non-ASCII.
func caring(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }

// careAt returns the index of the first byte of x (little-endian) that
// needs care, or 8.
func careAt(x uint64) int {
	for k := range 8 {
		if caring(byte(x >> (8 * k))) {
			return k
		}
	}
	return 8
}

// TestNeedsCare checks that the lowest flag of needsCare is the first byte
// needing care, for every byte value at every position, below it plain
// bytes and above it anything: the borrows that flag bytes above the first
// must not matter.
func TestNeedsCare(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	plain := func() uint64 {
		for {
			if c := 0x20 + r.Uint64N(0x60); c != '"' && c != '\\' {
				return c
			}
		}
	}
	for pos := range 8 {
		for c := range 256 {
			for range 200 {
				x := r.Uint64()
				for k := range pos {
					x = x&^(0xff<<(8*k)) | plain()<<(8*k)
				}
				x = x&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				if got, want := bits.TrailingZeros64(needsCare(x))>>3, careAt(x); got != want {
					t.Fatalf("needsCare(%#016x) flags byte %d first, want %d", x, got, want)
				}
			}
		}
	}
}

// TestSkipPlain checks skipPlain and wordAt against caring, including near
// the end of the buffer, where fewer than 8 bytes remain.
func TestSkipPlain(t *testing.T) {
	b := []byte(`abcdefgh"ijklmnop\q` + "\x01rs\u00e9tuvwxyz0123")
	for i := range len(b) + 1 {
		want := i
		for want < len(b) && !caring(b[want]) {
			want++
		}
		if got := skipPlain(b, i); got > want || (got < want && len(b)-got >= 8) {
			t.Errorf("skipPlain(b, %d) = %d, want %d (or less, within the last 8 bytes)", i, got, want)
		}
		x, n := wordAt(b, i)
		switch {
		case i+8 > len(b) && (x != 0 || n != 0):
			t.Errorf("wordAt(b, %d) = %#x, %d with %d bytes left, want 0, 0", i, x, n, len(b)-i)
		case i+8 <= len(b) && (x != binary.LittleEndian.Uint64(b[i:]) || n != careAt(x)):
			t.Errorf("wordAt(b, %d) = %#x, %d, want %#x, %d", i, x, n, binary.LittleEndian.Uint64(b[i:]), careAt(x))
		}
	}
}

// TestDigitsEnd checks digitsEnd against skipDigits for every byte value
// after every run of digits, with anything above it, and near the end of
// the buffer, where fewer than 8 bytes remain.
func TestDigitsEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 20)
	for n := range 12 {
		for c := range 256 {
			for range 20 {
				for k := range b {
					b[k] = byte(r.Uint32())
				}
				for k := range n {
					b[k] = '0' + byte(r.IntN(10))
				}
				b[n] = byte(c)
				for _, end := range []int{len(b), n + 1, n + 3} {
					if got, want := digitsEnd(b[:end], 0), skipDigits(b[:end], 0); got != want {
						t.Fatalf("digitsEnd(%q, 0) = %d, want %d", b[:end], got, want)
					}
				}
			}
		}
	}
}
