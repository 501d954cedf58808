package keystore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// TestEtcdWatchCompactionResyncs: changes made while an instance's watch
// is down, then compacted away, reach it by a full reload, none missed.
func TestEtcdWatchCompactionResyncs(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	mustClass(t, a, p.ID, "pii")
	r := mustRoute(t, a, p.ID, postsRoute())
	k1 := mustKey(t, a, p.ID, KeyInput{})
	if _, _, err := mustKeyring(t, a, p.ID).SealKey(1); err != nil { // version 1
		t.Fatal(err)
	}
	eventually(t, propagation, "k1 on B", func() error { _, err := b.Authenticate([]byte(p.ID), []byte(k1.Secret)); return err })

	// The changes below reach B only by the resync after release.
	release := holdWatch(t, b)

	if _, err := a.RevokeKey(p.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	k2 := mustKey(t, a, p.ID, KeyInput{})
	if _, err := a.DeleteRoute(p.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RotateDataKey(p.ID); err != nil {
		t.Fatal(err)
	}
	q := mustProject(t, a, "q")
	cl := a.kv.(*etcdKV).c
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cl.Get(ctx, "compact-me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate([]byte(p.ID), []byte(k1.Secret)); err != nil {
		t.Fatalf("B.Authenticate(k1) with its watch held = %v, want still accepted (the test's premise)", err)
	}

	release()
	eventually(t, propagation, "B after the resync", func() error {
		if _, err := b.Authenticate([]byte(p.ID), []byte(k1.Secret)); !errors.Is(err, ErrUnauthorized) {
			return fmt.Errorf("Authenticate(revoked k1) = %v", err)
		}
		if _, err := b.Authenticate([]byte(p.ID), []byte(k2.Secret)); err != nil {
			return fmt.Errorf("Authenticate(new k2) = %v", err)
		}
		if rs, _ := b.CachedRoutes([]byte(p.ID)); len(rs) != 0 {
			return fmt.Errorf("CachedRoutes = %v", routeIDs(rs))
		}
		if b.CachedProject([]byte(q.ID)) == nil {
			return errors.New("no project q")
		}
		if k, _ := b.Keyring(p.ID); k.current.Load() == nil || k.current.Load().rec.Version != 2 {
			return errors.New("data key v2 not current")
		}
		return nil
	})
	if n := b.feed.resyncs.Load(); n < 1 {
		t.Errorf("resyncs = %d, want at least 1 (the watch was compacted)", n)
	}
	if err := b.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	noCacheDiff(t, b)
	if err := b.Ready(); err != nil {
		t.Errorf("Ready after the resync = %v", err)
	}
}

// stale are the options of the fault tests: a short staleness window.
func stale(o *EtcdOptions) {
	o.MaxStaleness = 300 * time.Millisecond
	o.RequestTimeout = time.Second
}

// TestEtcdUnreachableThenBack: with etcd gone the store keeps
// authenticating from its cache for MaxStaleness, refuses writes and
// reports unready; then it refuses every key. When etcd is back it
// recovers by itself.
func TestEtcdUnreachableThenBack(t *testing.T) {
	cl := etcdtest.Start(t)
	c := newClock()
	s := openEtcdTestStore(t, cl.Endpoints(), c, stale)
	p := mustProject(t, s, "p")
	k := mustKey(t, s, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)
	eventually(t, propagation, "ready", s.Ready)

	cl.Members[0].Stop()
	if _, err := s.Authenticate(project, key); err != nil {
		t.Errorf("Authenticate right after etcd stopped = %v, want served from the cache", err)
	}
	checkDown(t, s, project, key)

	cl.Members[0].Restart(20 * time.Second)
	checkBack(t, s, project, key)
}

// checkDown waits for the store to report etcd gone: unready, writes
// refused (after the request timeout at most), and, after the staleness
// window, keys refused.
func checkDown(t *testing.T, s *Store, project, key []byte) {
	t.Helper()
	eventually(t, propagation, "unready", func() error {
		if err := s.Ready(); !errors.Is(err, ErrStoreUnavailable) {
			return fmt.Errorf("Ready = %v, want ErrStoreUnavailable", err)
		}
		return nil
	})
	name := "during"
	if _, err := s.CreateProject(ProjectInput{Name: &name}); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("CreateProject with etcd gone = %v, want ErrStoreUnavailable", err)
	}
	eventually(t, propagation, "keys refused after the staleness window", func() error {
		if _, err := s.Authenticate(project, key); !errors.Is(err, ErrStoreUnavailable) {
			return fmt.Errorf("Authenticate = %v, want ErrStoreUnavailable", err)
		}
		return nil
	})
}

// checkBack waits for the store to recover without reopening.
func checkBack(t *testing.T, s *Store, project, key []byte) {
	t.Helper()
	took := eventually(t, 20*time.Second, "recovery", func() error {
		if err := s.Ready(); err != nil {
			return err
		}
		_, err := s.Authenticate(project, key)
		return err
	})
	t.Logf("recovered %s after etcd was back", took)
	name := "after"
	if _, err := s.CreateProject(ProjectInput{Name: &name}); err != nil {
		t.Errorf("CreateProject after recovery = %v", err)
	}
}

// TestEtcdClusterLosesMemberThenQuorum: one member of three killed, the
// store goes on without errors; a second killed (no quorum), it behaves
// as with etcd gone; the second back, it recovers by itself.
func TestEtcdClusterLosesMemberThenQuorum(t *testing.T) {
	cl := etcdtest.StartCluster(t, 3)
	c := newClock()
	s := openEtcdTestStore(t, cl.Endpoints(), c, stale)
	p := mustProject(t, s, "p")
	k := mustKey(t, s, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)

	cl.Members[0].Stop()
	for i := range 10 {
		extra, err := s.CreateKey(p.ID, KeyInput{})
		if err != nil {
			t.Fatalf("CreateKey #%d with one member of three down = %v", i, err)
		}
		if _, err := s.RevokeKey(p.ID, extra.ID); err != nil {
			t.Fatalf("RevokeKey #%d with one member of three down = %v", i, err)
		}
		if _, err := s.Authenticate(project, key); err != nil {
			t.Fatalf("Authenticate #%d with one member of three down = %v", i, err)
		}
	}
	time.Sleep(time.Second) // several staleness windows: the store must stay fresh
	if _, err := s.Authenticate(project, key); err != nil {
		t.Errorf("Authenticate with one member down, later = %v", err)
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready with one member down = %v", err)
	}

	cl.Members[1].Stop()
	checkDown(t, s, project, key)
	cl.Members[1].Restart(20 * time.Second)
	checkBack(t, s, project, key)
}
