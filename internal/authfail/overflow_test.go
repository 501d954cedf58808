package authfail

import (
	"net/netip"
	"testing"
	"time"
)

// TestOverflowLocksOutNoOne: an attacker holding two IPv6 /48s (a free
// tunnel-broker allocation each: 65,536 /64s apiece) fills the 100,000
// tracked addresses with one failed authentication per /64, then spends
// the shared overflow bucket with ~31 more, and keeps it spent with one
// failure a second. An address that never failed must not be refused
// before its key is looked at (it was: every legitimate client was
// answered 429); a failure of an untracked address still counts in the
// overflow bucket, and is refused past it.
func TestOverflowLocksOutNoOne(t *testing.T) {
	tr := New(Options{})
	now := time.Unix(1_700_000_000, 0)
	prefixes := []netip.Addr{netip.MustParseAddr("2001:db8:1::"), netip.MustParseAddr("2001:db8:2::")}
	sent := 0
	for _, p := range prefixes {
		b := p.As16()
		for i := 0; i < 1<<16 && sent < 100_000; i++ {
			b[6], b[7] = byte(i>>8), byte(i)
			tr.Fail(netip.AddrFrom16(b), "", now)
			sent++
		}
	}
	// Drain the overflow bucket from fresh addresses of the same /48s.
	fresh := netip.MustParseAddr("2001:db8:3::1")
	for i := 0; i < 31; i++ {
		tr.Fail(fresh, "", now)
	}
	victims := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.77"), netip.MustParseAddr("2001:db8:ffff::1")}
	locked := 0
	for _, v := range victims {
		if tr.Limited(v, now.Add(500*time.Millisecond)) {
			locked++
		}
	}
	// Keep it up: one failure a second for a minute, then check again.
	for s := 1; s <= 59; s++ {
		tr.Fail(fresh, "", now.Add(time.Duration(s)*time.Second))
	}
	later := 0
	for _, v := range victims {
		if tr.Limited(v, now.Add(59*time.Second+500*time.Millisecond)) {
			later++
		}
	}
	t.Logf("%d failures from two /48s (one per /64) + 31 overflow failures: %d of %d never-failing victim addresses refused at once, %d of %d a minute later (1 failure/s upkeep)",
		sent, locked, len(victims), later, len(victims))
	if locked > 0 || later > 0 {
		t.Errorf("addresses that never failed an authentication are refused 429 (before their key is checked) once the tracker is full and the overflow bucket spent")
	}
	if tr.Fail(netip.MustParseAddr("2001:db8:4::1"), "", now.Add(59*time.Second+600*time.Millisecond)) {
		t.Errorf("a failure of an untracked address with the overflow bucket spent was allowed, want it refused (429)")
	}
}
