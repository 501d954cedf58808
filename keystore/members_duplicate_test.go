package keystore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestEtcdMembersDuplicateID: two live instances with one id (a data
// directory copied with its instance.id: a cloned VM or volume) must not
// both register: a second Join that overwrote the first's registration
// would leave one entry for two instances (each sizing its rate-limit
// buckets for one instance, the merged event list reading one log only),
// and when the second left, the first would vanish from every list while
// it goes on serving. The second Join is refused; a restart after a crash
// joins once the old lease has run out.
func TestEtcdMembersDuplicateID(t *testing.T) {
	eps := startEtcd(t)
	c := newClock()
	a, b, watcher := openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c)
	in := func(admin string) Instance {
		return Instance{ID: "inst_same", DataAddr: "127.0.0.1:1", AdminURL: admin, Version: "test", Started: c.Now()}
	}
	ttl := MembershipOptions{TTL: 2 * time.Second}
	ma, err := a.Join(in("http://a.example:8081"), ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ma.Close() })
	mw, err := watcher.Join(Instance{ID: "inst_watcher", AdminURL: "http://w.example:8081"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	eventually(t, 5*time.Second, "two registered", func() error {
		if got := ids(mw.List()); got != "inst_same,inst_watcher" {
			return fmt.Errorf("List() = %s", got)
		}
		return nil
	})

	mb, err := b.Join(in("http://b.example:8081"), ttl)
	if err == nil {
		// Show what follows from accepting it.
		time.Sleep(200 * time.Millisecond)
		listed := mw.List()
		mb.Close() // b stops gracefully
		time.Sleep(3 * ttl.TTL)
		after := ids(mw.List())
		t.Fatalf("a second live instance joined with id inst_same (want an error): the list showed %d instances for 3 (%s, admin %s), "+
			"and after the second left gracefully and %s passed, instance a (still running, still renewing its lease) is listed as: %q",
			len(listed), ids(listed), listed[0].AdminURL, 3*ttl.TTL, after)
	}
	t.Logf("second Join refused: %v", err)

	// A restart of the same instance (same id, after the old process
	// died without revoking its lease) still joins, once that lease is gone.
	ma.etcd.close(false) // crash: the registration stays until the lease expires
	mc, err := b.Join(in("http://a.example:8081"), ttl)
	if err != nil {
		t.Fatalf("Join after the previous holder of the id crashed = %v, want it to join (once the old lease expired)", err)
	}
	defer mc.Close()
	if errors.Is(err, ErrBadInstance) {
		t.Fatal(err)
	}
}

// TestEtcdJoinWaitCancelled: the wait at start for a crashed run's
// registration to expire tells OnWait how long it may take, and ends
// with ErrJoinCancelled as soon as the Start context is done (a SIGTERM
// during start-up), leaving nothing registered under the id.
func TestEtcdJoinWaitCancelled(t *testing.T) {
	eps := startEtcd(t)
	c := newClock()
	a, b, watcher := openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c)
	in := Instance{ID: "inst_crashed", DataAddr: "127.0.0.1:1", AdminURL: "http://a.example:8081", Version: "test", Started: c.Now()}
	ma, err := a.Join(in, MembershipOptions{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ma.etcd.close(false) // crash: the registration stays until its lease expires

	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan time.Duration, 1)
	done := make(chan error, 1)
	restart := in
	restart.AdminURL = "http://b.example:8081"
	go func() {
		m, err := b.Join(restart, MembershipOptions{TTL: 5 * time.Second, Start: ctx, OnWait: func(d time.Duration) { waiting <- d }})
		if err == nil {
			m.Close()
		}
		done <- err
	}()
	select {
	case d := <-waiting:
		if d < 5*time.Second || d > 8*time.Second {
			t.Errorf("OnWait(%s), want the lease's TTL and 2s", d)
		}
	case err := <-done:
		t.Fatalf("Join returned %v before waiting for the crashed run's registration", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrJoinCancelled) {
		t.Fatalf("Join after its Start context was cancelled = %v, want ErrJoinCancelled", err)
	}
	mw, err := watcher.Join(Instance{ID: "inst_watcher", AdminURL: "http://w.example:8081"}, MembershipOptions{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	for _, got := range mw.List() {
		if got.AdminURL == restart.AdminURL {
			t.Errorf("the cancelled Join registered %+v", got)
		}
	}
}
