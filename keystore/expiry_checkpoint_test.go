package keystore

import (
	"testing"
	"time"
)

// TestExpiryCheckpointNeverMovesBack: instances share the expiry
// checkpoint in etcd, each moving it to its own clock's now. An instance
// whose clock is behind must not move it back, or the next call on another
// instance would report the same expiry again (a second key.expired event).
func TestExpiryCheckpointNeverMovesBack(t *testing.T) {
	ep := startEtcd(t)
	ca, cb := newClock(), newClock()
	a, b := openEtcdTestStore(t, ep, ca), openEtcdTestStore(t, ep, cb)
	p := mustProject(t, a, "p")
	soon := ca.Now().Add(time.Minute)
	mustKey(t, a, p.ID, KeyInput{ExpiresAt: &soon})

	ca.Advance(2 * time.Minute)  // a's clock is two minutes past the expiry
	cb.Advance(30 * time.Second) // b's clock is 90 s behind a's
	if got, err := a.TakeExpired(); err != nil || len(got) != 1 {
		t.Fatalf("a.TakeExpired = %d keys, %v; want 1", len(got), err)
	}
	if got, err := b.TakeExpired(); err != nil || len(got) != 0 {
		t.Fatalf("b.TakeExpired = %d keys, %v; want 0", len(got), err)
	}
	ca.Advance(30 * time.Second)
	if got, err := a.TakeExpired(); err != nil || len(got) != 0 {
		t.Errorf("a.TakeExpired after b's (slower clock) = %d keys, %v; want 0: the expiry was reported already", len(got), err)
	}
}

// TestExpiryCheckpointFarAhead: one instance whose clock is far ahead (a
// VM booted with a wrong clock, before NTP) moves the shared checkpoint to
// its own now. A checkpoint more than maxCheckpointLead ahead of a correct
// instance's clock is moved back to that clock, so an expiry after that is
// still reported (and not hidden for as long as the clock was ahead).
func TestExpiryCheckpointFarAhead(t *testing.T) {
	ep := startEtcd(t)
	ca, cb := newClock(), newClock()
	a, b := openEtcdTestStore(t, ep, ca), openEtcdTestStore(t, ep, cb)
	p := mustProject(t, b, "p")

	ca.Advance(30 * 24 * time.Hour) // a's clock is 30 days ahead
	if _, err := a.TakeExpired(); err != nil {
		t.Fatal(err)
	}
	// a's clock is fixed (or a is gone); b goes on calling TakeExpired
	// every 30 s, and creates a key expiring in an hour.
	if _, err := b.TakeExpired(); err != nil {
		t.Fatal(err)
	}
	cb.Advance(30 * time.Second)
	soon := cb.Now().Add(time.Hour)
	k := mustKey(t, b, p.ID, KeyInput{ExpiresAt: &soon})
	cb.Advance(2 * time.Hour)
	got, err := b.TakeExpired()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != k.ID {
		t.Errorf("b.TakeExpired two hours after a key expired, once an instance with a clock 30 days ahead ran = %d keys; want the key %s (no key.expired event is ever emitted for it)", len(got), k.ID)
	}
}
