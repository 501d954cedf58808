//go:build !race

package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// indexRig is the rig of rtBenchCases' "fields" request with a blind
// index too: from a route (route, forwarded), or from X-Qanapi-Index
// (answered directly, so that the test sees the index).
func indexRig(tb testing.TB, route bool) *rtRig {
	tb.Helper()
	c := rtBenchCases[2]
	if route {
		c = rtBenchCases[1]
	}
	e, project, key := rtBenchEnv(tb, c)
	raw := rtRawRequest(c, project, key)
	if route {
		in := keystore.RouteInput{Path: "/orders/**", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: strings.Split(rtFields300, ","),
			Index: []keystore.RouteIndex{{Field: "customer.ssn", Normalize: "digits"}}}}
		if _, err := e.store.CreateRoute(project, in); err != nil {
			tb.Fatal(err)
		}
		raw = strings.Replace(raw, HeaderFields+": "+rtFields300+"\r\n", "", 1)
	} else {
		raw = strings.Replace(raw, HeaderFields+":", HeaderIndex+": customer.ssn:digits\r\n"+HeaderFields+":", 1)
	}
	r := &rtRig{data: e.data}
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		tb.Fatal(err)
	}
	r.ctx.Init(&r.tmpl, rtClientAddr, nil)
	return r
}

func TestAllocsProxyIndex(t *testing.T) {
	for _, route := range []bool{false, true} {
		name := map[bool]string{false: "header", true: "route"}[route]
		t.Run(name, func(t *testing.T) {
			r := indexRig(t, route)
			for range 20 {
				r.check(t)
			}
			if body := string(r.ctx.Response.Body()); !route && !strings.Contains(body, `"ssn":"qanapi:`) || !route && !strings.Contains(body, `"ssn_bidx":"`) {
				t.Fatalf("answer = %s, want ssn sealed and indexed", body)
			}
			got := testing.AllocsPerRun(1000, func() { r.serve() })
			if got != 0 {
				t.Errorf("Data.Handler(fields + index from %s) allocs = %v, want 0", name, got)
			}
		})
	}
}

// BenchmarkProxyHandlerIndex is BenchmarkProxyHandler's "fields" and
// "fields-noforward" requests with one of their two fields indexed;
// compare with those.
func BenchmarkProxyHandlerIndex(b *testing.B) {
	for _, route := range []bool{false, true} {
		b.Run(map[bool]string{false: "fields-noforward-index-header", true: "fields-index-route"}[route], func(b *testing.B) {
			r := indexRig(b, route)
			r.check(b)
			b.SetBytes(int64(len(rtBody300)))
			b.ReportAllocs()
			for b.Loop() {
				r.serve()
			}
		})
	}
}
