package keystore

import (
	"errors"
	"fmt"
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
