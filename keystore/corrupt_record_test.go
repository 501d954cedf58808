package keystore

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// putRaw writes value at a record's key as a bad instance (another
// version, a bug, a hand edit) would, with its bucket's version key, and
// returns the revision.
func putRaw(t *testing.T, s *Store, bucket, key, value string) int64 {
	t.Helper()
	e := s.kv.(*etcdKV)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.c.Txn(ctx).Then(
		clientv3.OpPut(e.prefix+bucket+"/"+key, value),
		clientv3.OpPut(e.versionKey(bucket), ""),
	).Commit()
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// waitRev waits until s's watch has applied rev (what a write of s itself
// waits for).
func waitRev(t *testing.T, s *Store, rev int64) {
	t.Helper()
	if err := s.feed.waitApplied(rev); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdCorruptKeyRecordFailsClosed: a key record that an instance
// cannot read (written corrupt by another instance or version) must not
// leave the key's previous state in force on the instances that see it:
// the key is refused. Nor may it stop any instance from (re)loading the
// store: an instance started afterwards, or one that reloads after a
// compaction, opens and serves the project's other keys.
func TestEtcdCorruptKeyRecordFailsClosed(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	bad := mustKey(t, a, p.ID, KeyInput{})
	good := mustKey(t, a, p.ID, KeyInput{})
	was := getRaw(t, a, string(bucketKeys), bad.ID)
	rev := putRaw(t, a, string(bucketKeys), bad.ID, `{"id":"`+bad.ID+`","revoked_at":`) // cut short
	waitRev(t, b, rev)
	if _, err := b.Authenticate([]byte(p.ID), []byte(bad.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("B.Authenticate(key whose record is unreadable) = %v, want ErrUnauthorized (its last readable state was active)", err)
	}
	if _, err := b.Authenticate([]byte(p.ID), []byte(good.Secret)); err != nil {
		t.Errorf("B.Authenticate(other key) = %v", err)
	}
	if err := b.Ready(); err == nil {
		t.Error("B.Ready() = nil with a record it cannot read; want it reported")
	}

	eo := EtcdOptions{Endpoints: ep, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second}
	s, err := OpenEtcd(eo, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatalf("OpenEtcd with one unreadable key record = %v, want the store opened (that key refused)", err)
	}
	defer s.Close()
	if _, err := s.Authenticate([]byte(p.ID), []byte(good.Secret)); err != nil {
		t.Errorf("new instance: Authenticate(other key) = %v", err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(bad.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("new instance: Authenticate(key whose record is unreadable) = %v, want ErrUnauthorized", err)
	}

	// Repaired: the key works again everywhere, and B is ready.
	rev = putRaw(t, a, string(bucketKeys), bad.ID, was)
	for _, st := range []*Store{b, s} {
		waitRev(t, st, rev)
		eventually(t, propagation, "the repaired key", func() error {
			if _, err := st.Authenticate([]byte(p.ID), []byte(bad.Secret)); err != nil {
				return err
			}
			return st.Ready()
		})
	}
}

// getRaw reads a record as stored.
func getRaw(t *testing.T, s *Store, bucket, key string) string {
	t.Helper()
	e := s.kv.(*etcdKV)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.c.Get(ctx, e.prefix+bucket+"/"+key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return string(resp.Kvs[0].Value)
}

// TestEtcdCorruptRouteFailsClosed: a route record an instance cannot
// read must not leave the route's previous rules in force there (they may
// name fields that are no longer to be sealed, or fewer than now): the
// project is refused on that instance until the record is readable, and
// other projects are served. An instance started meanwhile opens.
func TestEtcdCorruptRouteFailsClosed(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	q := mustProject(t, a, "q")
	mustClass(t, a, p.ID, "pii")
	r := mustRoute(t, a, p.ID, postsRoute())
	was := getRaw(t, a, string(bucketRoutes), p.ID+"/"+r.ID)
	rev := putRaw(t, a, string(bucketRoutes), p.ID+"/"+r.ID, `{"id":"`+r.ID+`","request":{"mode":`)
	waitRev(t, b, rev)
	if rs, _ := b.CachedRoutes([]byte(p.ID)); b.CachedProject([]byte(p.ID)) != nil && len(rs) != 0 {
		t.Errorf("B after p's route became unreadable: project cached with routes %v, want the project refused", routeIDs(rs))
	}
	if b.CachedProject([]byte(q.ID)) == nil {
		t.Error("B: the other project is gone")
	}

	eo := EtcdOptions{Endpoints: ep, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second}
	s, err := OpenEtcd(eo, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatalf("OpenEtcd with one unreadable route = %v, want the store opened (that project refused)", err)
	}
	defer s.Close()
	if s.CachedProject([]byte(p.ID)) != nil {
		t.Error("new instance: project with an unreadable route served")
	}
	if s.CachedProject([]byte(q.ID)) == nil {
		t.Error("new instance: the other project is missing")
	}

	// Repaired: the project and its route are back everywhere.
	rev = putRaw(t, a, string(bucketRoutes), p.ID+"/"+r.ID, was)
	for _, st := range []*Store{a, b, s} {
		waitRev(t, st, rev)
		eventually(t, propagation, "the repaired project", func() error {
			if rs, _ := st.CachedRoutes([]byte(p.ID)); st.CachedProject([]byte(p.ID)) == nil || len(rs) != 1 {
				return errors.New("project p or its route missing")
			}
			return st.Ready()
		})
	}
}

// TestEtcdCorruptDataKeyFailsClosed: a project's data-key state that an
// instance cannot read (its minimum decryption version just raised, say)
// must not leave the older state in force there (tokens of the retired
// version would still open): the project is refused on that instance. Nor
// may the record stop instances from starting.
func TestEtcdCorruptDataKeyFailsClosed(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	q := mustProject(t, a, "q")
	if _, _, err := mustKeyring(t, a, p.ID).SealKey(1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RotateDataKey(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mustKeyring(t, a, q.ID).SealKey(1); err != nil {
		t.Fatal(err)
	}
	rev := putRaw(t, a, string(bucketDataKeys), p.ID+"/meta", `{"current":2,"min_decryption_version":`)
	waitRev(t, b, rev)
	if b.CachedProject([]byte(p.ID)) != nil {
		if k, err := b.Keyring(p.ID); err == nil {
			if _, err := k.OpenKey(1); err == nil {
				t.Error("B: version 1 still opens after p's data-key state became unreadable (its minimum may have been raised)")
			}
		}
	}
	eo := EtcdOptions{Endpoints: ep, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second}
	s, err := OpenEtcd(eo, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatalf("OpenEtcd with one unreadable data-key record = %v, want the store opened (that project refused)", err)
	}
	defer s.Close()
	if s.CachedProject([]byte(p.ID)) != nil {
		t.Error("new instance: project with unreadable data-key state served")
	}
	if k, err := s.Keyring(q.ID); err != nil || s.CachedProject([]byte(q.ID)) == nil {
		t.Errorf("new instance: other project q: %v", err)
	} else if _, err := k.OpenKey(1); err != nil {
		t.Errorf("new instance: q's data key: %v", err)
	}
}
