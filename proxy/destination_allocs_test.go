//go:build !race

package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestAllocsProxyDestination pins a request forwarded to an allowed
// X-Qanapi-Destination, 2 fields encrypted, at 0 allocations: the
// destination's client is found in its own map, its connection (dialled
// once, through the resolved-address check) is kept alive, and the
// answer's Location lines are looked at only on a redirect.
func TestAllocsProxyDestination(t *testing.T) {
	c := rtBenchCases[1] // fields
	e, project, key := rtBenchEnv(t, c)
	dests := []string{"http://bench.test"}
	if _, err := e.store.UpdateProject(project, keystore.ProjectInput{Destinations: &dests}); err != nil {
		t.Fatal(err)
	}
	r := &rtRig{data: e.data}
	raw := strings.Replace(rtRawRequest(c, project, key), "\r\n", "\r\n"+HeaderDestination+": http://bench.test/api/items\r\n", 1)
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	r.ctx.Init(&r.tmpl, rtClientAddr, nil)
	for range 20 {
		r.check(t)
	}
	e.data.upstreams.mu.RLock()
	n := len(e.data.upstreams.def.dests)
	e.data.upstreams.mu.RUnlock()
	if d := e.dialed(); n != 1 || len(d) == 0 || d[len(d)-1] != "bench.test:80" {
		t.Fatalf("%d destination clients, dialled %v; want one, and bench.test:80 (through its resolved address)", n, d)
	}
	ok := true
	got := testing.AllocsPerRun(1000, func() { ok = r.serve() && ok })
	if !ok {
		t.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
	}
	if got > 0 {
		t.Errorf("Data.Handler with a destination allocs = %v, want 0", got)
	}
}
