//go:build !race

// The race detector makes sync.Pool drop items at random (see allocs_test.go).

package proxy

import "testing"

// TestAllocsProxyCookie: a Cookie that fasthttp forwards as it was sent
// costs the request one scan and no allocation.
func TestAllocsProxyCookie(t *testing.T) {
	for _, c := range []rtBenchCase{rtBenchCases[0], rtBenchCases[1]} {
		r := newRTRig(t, c, "Cookie: session=3f1c9a77e0b2; theme=dark")
		for range 20 {
			r.check(t)
		}
		if got := testing.AllocsPerRun(1000, func() { r.serve() }); got != 0 {
			t.Errorf("Data.Handler(%s with a cookie) allocs = %v, want 0", c.name, got)
		}
	}
}
