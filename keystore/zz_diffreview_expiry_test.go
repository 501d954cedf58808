package keystore

import (
	"testing"
	"time"
)

// TestDiffReviewExpiryCheckpointFarAhead: one instance whose clock is far
// ahead (a VM booted with a wrong RTC, before NTP) moves the shared
// checkpoint to its own now. Since the checkpoint never moves back, every
// key that expires (in real time) before that moment and was created or
// rotated after that instance ran is never reported (before the change,
// the next call of a correct instance moved it back, losing at most one
// interval): no key.expired event
// for as long as the clock was ahead (here 30 days).
func TestDiffReviewExpiryCheckpointFarAhead(t *testing.T) {
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
