package keystore

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRevokeWithWatchStuckFailsClosed:
// instance B's watch never delivers again (each new watch blocks before it
// starts), while etcd stays reachable. A revokes a key. B goes on
// accepting the revoked key until its cache has not been shown current for
// MaxStaleness, then refuses every key with ErrStoreUnavailable: it fails
// closed, it does not serve the stale key forever.
func TestRevokeWithWatchStuckFailsClosed(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	const maxStale = 2 * time.Second
	a := openEtcdTestStore(t, ep, c)
	b := openEtcdTestStore(t, ep, c, func(o *EtcdOptions) { o.MaxStaleness = maxStale })
	p := mustProject(t, a, "p")
	k := mustKey(t, a, p.ID, KeyInput{})
	eventually(t, 5*time.Second, "k on B", func() error { _, err := b.Authenticate([]byte(p.ID), []byte(k.Secret)); return err })

	holdWatch(t, b)

	if _, err := a.RevokeKey(p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	var lastOK time.Duration
	for time.Since(revoked) < 3*maxStale {
		_, err := b.Authenticate([]byte(p.ID), []byte(k.Secret))
		switch {
		case err == nil:
			lastOK = time.Since(revoked)
		case errors.Is(err, ErrStoreUnavailable):
		default:
			t.Fatalf("B.Authenticate = %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := b.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("B.Authenticate after %s with its watch stuck = %v, want ErrStoreUnavailable", 3*maxStale, err)
	}
	if err := b.Ready(); err == nil {
		t.Error("B.Ready() = nil with its watch stuck")
	}
	t.Logf("B accepted the revoked key until %s after the revoke (MaxStaleness %s), then refused every key", lastOK.Round(time.Millisecond), maxStale)
}

// TestCreateKeyNotCaughtUpKeepsSecret: when this instance's watch does
// not bring a committed write into its cache within the request timeout,
// the write is made all the same. For CreateKey that means an active key,
// counting against the project's cap, whose secret is shown nowhere else:
// CreateKey returns it (the admin API answers 201) rather than an error.
func TestCreateKeyNotCaughtUpKeepsSecret(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a := openEtcdTestStore(t, ep, c, func(o *EtcdOptions) { o.RequestTimeout = time.Second })
	p := mustProject(t, a, "p")

	holdWatch(t, a)

	nk, err := a.CreateKey(p.ID, KeyInput{Name: "app"})
	keys, lerr := a.Keys(p.ID)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if err != nil && len(keys) > 0 {
		t.Fatalf("CreateKey = %v (the caller gets no secret), yet the store holds %d key(s): %s, status %s: an active key nobody has the secret of, counting against the cap",
			err, len(keys), keys[0].ID, keys[0].Status(c.Now()))
	}
	if err == nil && nk.Secret == "" {
		t.Fatal("CreateKey succeeded without a secret")
	}
}

// TestProjectDeletedOnOtherInstanceRefuses:
// a project deleted through B: its key is refused on A, by the proxy's
// check (Authenticate) and by the direct API's (AuthenticateKey), within
// the propagation time.
func TestProjectDeletedOnOtherInstanceRefuses(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	k := mustKey(t, a, p.ID, KeyInput{})
	eventually(t, 5*time.Second, "k on B", func() error { _, err := b.AuthenticateKey([]byte(k.Secret)); return err })
	if err := b.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 5*time.Second, "k refused on A", func() error {
		if _, err := a.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
			return err
		}
		if _, err := a.AuthenticateKey([]byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
			return errors.New("AuthenticateKey still accepts it")
		}
		return nil
	})
	t.Logf("project deleted on B → key refused on A after %s", took)
}

// holdWatch makes s's next watch wait before it starts, restarts s's
// watch, and returns once the new one waits: from then on s's cache
// learns nothing from etcd until release (also run at the test's end),
// and then only by a resync.
func holdWatch(t *testing.T, s *Store) (release func()) {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	s.feed.mu.Lock()
	s.feed.beforeWatch = func() {
		select {
		case held <- struct{}{}:
		default:
		}
		<-hold
	}
	restart := s.feed.restart
	s.feed.mu.Unlock()
	restart()
	// Canceling a watch is asynchronous: until its loop has ended it may
	// still apply what etcd sends. Return once the next watch waits.
	select {
	case <-held:
	case <-time.After(propagation):
		t.Fatal("the watch did not restart")
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.feed.mu.Lock()
			s.feed.beforeWatch = nil
			s.feed.mu.Unlock()
			close(hold)
		})
	}
	t.Cleanup(release)
	return release
}
