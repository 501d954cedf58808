package proxy

import (
	"testing"
	"time"
)

// TestUpstreamCAChangeWithClockBehind: a project's upstream_ca is
// replaced (say the old CA is compromised) by an update whose UpdatedAt is
// earlier than the one the project's pool was built from: a wall clock
// stepped back, or another etcd instance whose clock is behind. The proxy
// must verify the upstream against the new CA from then on (it kept the
// old one for good while the pool was chosen by UpdatedAt).
func TestUpstreamCAChangeWithClockBehind(t *testing.T) {
	e := newProfileEnv(t, false)
	p := e.projectWith("https://secure.test", tlsProfile(e.ca, nil))
	if r := e.get(p, ""); r.status != 200 {
		t.Fatalf("GET with the upstream's CA = %d %s, want 200", r.status, r.body)
	}
	e.clock.Set(e.clock.Now().Add(-time.Minute)) // NTP step, or the updating instance is a minute behind
	e.update(t, p.ID, tlsProfile(e.other, nil))  // stop trusting the upstream's CA
	for range 3 {
		e.clock.Advance(10 * time.Second)
		rtErrorShape(t, "GET after upstream_ca was replaced", e.get(p, ""), 502, "upstream_tls_failed")
	}
}
