//go:build !race

package keystore

import "testing"

// TestAuthenticateAllocsEtcd: on etcd, authentication (staleness check
// included) is served from the cache without allocating, as on bbolt.
func TestAuthenticateAllocsEtcd(t *testing.T) {
	authenticateAllocs(t, openEtcdTestStore(t, startEtcd(t), newClock()))
}
