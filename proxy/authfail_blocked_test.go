package proxy

import (
	"net/netip"
	"testing"
	"time"
)

// TestBlockedAddressesForgotten: an address that was locked out and
// never came back must not keep its bucket forever. flush dropped only
// buckets of addresses not in the blocked set, and an address leaves that
// set only when it sends again; so MaxTracked addresses locked out once
// (an attacker's, 31 bad keys each) filled the tracked buckets for the
// life of the process, and every new address from then on shared the one
// overflow bucket: one bad client there locked out every new client,
// valid keys included (limited is checked before the key).
func TestBlockedAddressesForgotten(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	a := newAuthFailures(AuthFailureOptions{PerSecond: 1, Burst: 3, MaxTracked: 10})
	for i := range 10 {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		for range 4 {
			a.fail(ip, "", t0)
		}
		if !a.limited(ip, t0) {
			t.Fatalf("%s after 4 failures with a burst of 3: not limited", ip)
		}
	}
	// An hour later every bucket is full again; the summaries are written.
	later := t0.Add(time.Hour)
	a.flush(nil, later)
	a.mu.Lock()
	nb, nbl := len(a.buckets), len(a.blocked)
	a.mu.Unlock()
	if nb != 0 || nbl != 0 || a.nBlocked.Load() != 0 {
		t.Errorf("after the flush an hour later: %d buckets, %d blocked (nBlocked %d), want none: every one of them is full again", nb, nbl, a.nBlocked.Load())
	}
	// A bad client from a new address locks itself out...
	bad := netip.MustParseAddr("192.0.2.1")
	for range 4 {
		a.fail(bad, "", later)
	}
	// ...and not a client from another new address that never failed.
	good := netip.MustParseAddr("198.51.100.7")
	if a.limited(good, later) {
		t.Errorf("%s, which never failed, is limited after %s locked itself out: they share the overflow bucket, held by addresses locked out an hour ago", good, bad)
	}
}
