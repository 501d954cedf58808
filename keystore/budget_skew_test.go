package keystore

import (
	"testing"
	"time"
)

// TestEtcdBudgetClockAheadOverspends: an instance whose clock runs one
// window ahead moves the stored window on; the others join it at once, so
// within one window of true time the key decrypts its budget twice.
// docs/decrypt-budgets.md promised over-spend 0 and n × values over n
// windows without saying so (this test asserted at most values and failed
// with 20); it now documents the bound, asserted here, and that the others
// join the instance ahead (nothing more is spent after it).
func TestEtcdBudgetClockAheadOverspends(t *testing.T) {
	ep := startEtcd(t)
	ca := newClock()
	cb := newClock()
	cb.Advance(time.Hour) // B's clock is an hour ahead
	a, b := openEtcdTestStore(t, ep, ca), openEtcdTestStore(t, ep, cb)
	p := mustProject(t, a, "p")
	k := mustKey(t, a, p.ID, KeyInput{Permissions: []string{PermDecrypt}, DecryptBudget: &Budget{Values: 10, Per: time.Hour}})
	var spent uint64
	for _, s := range []*Store{a, b, a} {
		c := ca
		if s == b {
			c = cb
		}
		var pr *Principal
		eventually(t, propagation, "key", func() (err error) { pr, err = s.Authenticate([]byte(p.ID), []byte(k.Secret)); return })
		for pr.Budget.Spend(c.Now(), 1) == nil {
			spent++
		}
	}
	// All of it within one hour of true time (no clock moved).
	if spent != 20 {
		t.Errorf("decrypted %d values within one window of a 10-per-hour budget (B's clock an hour ahead), want the documented 20", spent)
	}
}
