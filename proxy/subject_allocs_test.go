//go:build !race

package proxy

import (
	"bufio"
	"strings"
	"testing"
)

// subjectRig is newRTRig for case c with X-Qanapi-Subject added.
func subjectRig(tb testing.TB, c rtBenchCase) *rtRig {
	tb.Helper()
	e, project, key := rtBenchEnv(tb, c)
	raw := strings.Replace(rtRawRequest(c, project, key), "Content-Length:", HeaderSubject+": user-8812@example.com\r\nContent-Length:", 1)
	r := &rtRig{data: e.data}
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		tb.Fatal(err)
	}
	r.ctx.Init(&r.tmpl, rtClientAddr, nil)
	return r
}

// TestAllocsProxySubject pins a request sealed for a subject whose
// reference and key are cached to the allocations of a plain one: zero.
func TestAllocsProxySubject(t *testing.T) {
	for _, c := range []rtBenchCase{rtBenchCases[1], rtBenchCases[2]} {
		t.Run(c.name+"-subject", func(t *testing.T) {
			r := subjectRig(t, c)
			for range 20 {
				r.check(t)
			}
			if !subjectTokenRE.Match(r.ctx.Response.Body()) && !c.forward {
				t.Fatalf("answer %s: want subject tokens", r.ctx.Response.Body())
			}
			ok := true
			got := testing.AllocsPerRun(1000, func() { ok = r.serve() && ok })
			if !ok {
				t.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
			}
			if got > 0 {
				t.Errorf("Data.Handler(%s with a subject) allocs = %v, want 0", c.name, got)
			}
		})
	}
}

// BenchmarkProxySubject compares a request sealing 2 fields with and
// without X-Qanapi-Subject (the subject cached), answered directly.
func BenchmarkProxySubject(b *testing.B) {
	c := rtBenchCases[2]
	for _, subject := range []bool{false, true} {
		name := "plain"
		if subject {
			name = "subject"
		}
		b.Run(name, func(b *testing.B) {
			var r *rtRig
			if subject {
				r = subjectRig(b, c)
			} else {
				r = newRTRig(b, c)
			}
			r.check(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if !r.serve() {
					b.Fatalf("Data.Handler = %d %s", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
				}
			}
		})
	}
}
