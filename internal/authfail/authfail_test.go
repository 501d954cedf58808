package authfail

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/events"
)

// recorder keeps the events a Tracker records.
type recorder struct{ evs []events.Event }

func (r *recorder) Record(e events.Event) { r.evs = append(r.evs, e) }

// TestAuthFailureLimiterBounds: IPv6 addresses count by their /64, a
// new address past MaxTracked shares an overflow bucket instead of going
// unlimited, and one flush writes at most maxSummaries events.
func TestAuthFailureLimiterBounds(t *testing.T) {
	now := time.Unix(1e9, 0)
	a := New(Options{PerSecond: 1, Burst: 3, MaxTracked: 10})
	allowed := 0
	for i := range 100 {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		if a.Fail(ip, "", now) {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("100 failures from one IPv6 /64 allowed %d, want the burst of 3", allowed)
	}
	allowed = 0
	for i := range 1000 {
		if a.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), "", now) {
			allowed++
		}
	}
	if allowed > 10*3+3 {
		t.Errorf("1000 failures from 1000 IPv4 addresses with MaxTracked 10 allowed %d, want at most the tracked buckets plus the overflow bucket (33)", allowed)
	}
	rec := &recorder{}
	b := New(Options{PerSecond: -1, MaxTracked: 100_000})
	for i := range 3000 {
		b.Fail(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), "prj", now)
	}
	b.Flush(rec, now)
	if n := len(rec.evs); n != maxSummaries+1 {
		t.Errorf("one flush of 3000 sources wrote %d events, want %d and one for the rest", n, maxSummaries+1)
	}
}

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
	a := New(Options{PerSecond: 1, Burst: 3, MaxTracked: 10})
	for i := range 10 {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		for range 4 {
			a.Fail(ip, "", t0)
		}
		if !a.Limited(ip, t0) {
			t.Fatalf("%s after 4 failures with a burst of 3: not limited", ip)
		}
	}
	// An hour later every bucket is full again; the summaries are written.
	later := t0.Add(time.Hour)
	a.Flush(nil, later)
	a.mu.Lock()
	nb, nbl := len(a.buckets), len(a.blocked)
	a.mu.Unlock()
	if nb != 0 || nbl != 0 || a.nBlocked.Load() != 0 {
		t.Errorf("after the flush an hour later: %d buckets, %d blocked (nBlocked %d), want none: every one of them is full again", nb, nbl, a.nBlocked.Load())
	}
	// A bad client from a new address locks itself out...
	bad := netip.MustParseAddr("192.0.2.1")
	for range 4 {
		a.Fail(bad, "", later)
	}
	// ...and not a client from another new address that never failed.
	good := netip.MustParseAddr("198.51.100.7")
	if a.Limited(good, later) {
		t.Errorf("%s, which never failed, is limited after %s locked itself out: they share the overflow bucket, held by addresses locked out an hour ago", good, bad)
	}
}

// TestListenerInSummaries: a Tracker with a Listener names it in every
// summary, the "other" one included; one without adds nothing (the data
// listener's summaries keep their shape).
func TestListenerInSummaries(t *testing.T) {
	now := time.Unix(1e9, 0)
	for _, listener := range []string{"", "admin"} {
		rec := &recorder{}
		a := New(Options{Listener: listener, MaxTracked: 1})
		a.Fail(netip.MustParseAddr("192.0.2.1"), "", now)
		a.Fail(netip.MustParseAddr("192.0.2.2"), "", now) // past MaxTracked: "other"
		a.Flush(rec, now)
		if len(rec.evs) != 2 {
			t.Fatalf("listener %q: %d summaries, want 2: %+v", listener, len(rec.evs), rec.evs)
		}
		for _, e := range rec.evs {
			if got, ok := e.Details["listener"]; ok != (listener != "") || got != listener {
				t.Errorf("listener %q: summary details %v", listener, e.Details)
			}
		}
	}
}
