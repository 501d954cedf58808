//go:build !race

package keystore

import "testing"

// TestAuthenticateAllocsEtcd: on etcd, authentication (staleness check
// included) is served from the cache without allocating, as on bbolt.
func TestAuthenticateAllocsEtcd(t *testing.T) {
	s := openEtcdTestStore(t, startEtcd(t), newClock())
	p := mustProject(t, s, "a")
	k := mustKey(t, s, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)
	s.Authenticate(project, key) // warm the pool
	n := testing.AllocsPerRun(1000, func() {
		if _, err := s.Authenticate(project, key); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Authenticate on etcd allocs = %v, want 0", n)
	}
}
