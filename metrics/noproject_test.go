package metrics

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/events"
)

// TestRequestsOfNoProjectKept: requests that name no project (a path
// outside /proxy/ answered 404, a direct-API call answered 503
// store_unavailable) are counted with project="" in
// sdproxy_requests_total. Dropping the series of deleted projects must not
// take them for a deleted project's: "" is no project, and dropped just
// before every scrape they would never be exported at all.
func TestRequestsOfNoProjectKept(t *testing.T) {
	m := New()
	m.WatchProjects(func(p string) bool { return p == "prj_a" })
	for _, r := range []events.Request{
		{Status: 404},
		{Mode: "decrypt", Status: 503},
		{ProjectID: "prj_a", Mode: "encrypt", Status: 200},
	} {
		m.ObserveRequest(&r)
	}
	for i := range 2 {
		out := scrape(t, m)
		for _, want := range []string{
			`sdproxy_requests_total{mode="",project="",status="404"} 1`,
			`sdproxy_requests_total{mode="decrypt",project="",status="503"} 1`,
			`sdproxy_requests_total{mode="encrypt",project="prj_a",status="200"} 1`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("scrape %d: /metrics lacks %q", i+1, want)
			}
		}
	}
}
