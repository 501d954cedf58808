package keystore

import (
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// startEtcd starts a one-member etcd for the test and returns its endpoints.
func startEtcd(t testing.TB) []string {
	t.Helper()
	return etcdtest.Start(t).Endpoints()
}

// openEtcdTestStore opens a store on etcd at endpoints (under the default
// prefix unless set) and closes it on cleanup.
func openEtcdTestStore(t testing.TB, endpoints []string, c *clock, set ...func(*EtcdOptions)) *Store {
	t.Helper()
	eo := EtcdOptions{Endpoints: endpoints, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second}
	for _, f := range set {
		f(&eo)
	}
	s, err := OpenEtcd(eo, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatalf("OpenEtcd(%v) = %v", endpoints, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually polls cond every few milliseconds until it returns nil, and
// fails the test with cond's last error after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
