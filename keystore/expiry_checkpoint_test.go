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
