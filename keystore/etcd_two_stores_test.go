package keystore

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// propagation is the generous deadline for a change made on one
// instance to reach another; the design target is well under a second.
const propagation = 5 * time.Second

// TestEtcdTwoStoresKeyLifecycle: a key created on A authenticates on B; a
// key revoked on B is refused on A. It logs how long each took.
func TestEtcdTwoStoresKeyLifecycle(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "shared")
	k := mustKey(t, a, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)
	if _, err := a.Authenticate(project, key); err != nil {
		t.Fatalf("A.Authenticate(key created on A) = %v, want nil", err)
	}
	took := eventually(t, propagation, "key created on A authenticating on B", func() error {
		_, err := b.Authenticate(project, key)
		return err
	})
	t.Logf("create on A → accepted on B after %s", took)
	if _, err := b.RevokeKey(p.ID, k.ID); err != nil {
		t.Fatalf("B.RevokeKey = %v", err)
	}
	if _, err := b.Authenticate(project, key); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("B.Authenticate(key B revoked) = %v, want ErrUnauthorized at once", err)
	}
	took = eventually(t, propagation, "key revoked on B refused on A", func() error {
		if _, err := a.Authenticate(project, key); !errors.Is(err, ErrUnauthorized) {
			return fmt.Errorf("A.Authenticate = %v, want ErrUnauthorized", err)
		}
		return nil
	})
	t.Logf("revoke on B → refused on A after %s", took)
}

// TestEtcdRevokePropagation revokes 100 keys on B, one at a time, and
// measures how long A still accepted each, after RevokeKey returned and
// after it was called (A is polled in a tight loop); it logs p50, p99 and
// the worst. Only the generous propagation deadline is asserted.
func TestEtcdRevokePropagation(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "prop")
	var lags, fromCall []time.Duration
	for range 100 {
		k := mustKey(t, a, p.ID, KeyInput{})
		project, key := []byte(p.ID), []byte(k.Secret)
		eventually(t, propagation, "new key on B", func() error { _, err := b.Authenticate(project, key); return err })
		called := time.Now()
		if _, err := b.RevokeKey(p.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		returned := time.Now()
		for {
			if _, err := a.Authenticate(project, key); errors.Is(err, ErrUnauthorized) {
				break
			}
			if time.Since(returned) > propagation {
				t.Fatalf("key %s revoked on B still accepted on A after %s", k.ID, propagation)
			}
		}
		lags = append(lags, time.Since(returned))
		fromCall = append(fromCall, time.Since(called))
	}
	slices.Sort(lags)
	slices.Sort(fromCall)
	t.Logf("revoke on B → refused on A, 100 trials: after RevokeKey returned p50 %s, p99 %s, max %s; after it was called p50 %s, p99 %s, max %s",
		lags[49], lags[98], lags[99], fromCall[49], fromCall[98], fromCall[99])
}
