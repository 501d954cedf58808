package keystore

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is one engine the store runs on, for tests that must hold on
// every engine.
type backend struct {
	name string
	// space returns a new, empty place for a store: a directory on bbolt,
	// a key prefix on etcd.
	space func(t *testing.T) string
	// open opens the store in space, closing it on cleanup.
	open func(t *testing.T, space string, c *clock) *Store
}

// backends returns bbolt and etcd (one server for the whole test, each
// store under its own prefix).
func backends(t *testing.T) []backend {
	var once sync.Once
	var ep []string
	var n atomic.Int64
	return []backend{
		{
			name:  "bbolt",
			space: func(t *testing.T) string { return t.TempDir() },
			open:  func(t *testing.T, dir string, c *clock) *Store { return openTestStore(t, dir, c) },
		},
		{
			name: "etcd",
			space: func(*testing.T) string {
				once.Do(func() { ep = startEtcd(t) })
				return fmt.Sprintf("/sdproxy-test-%d/", n.Add(1))
			},
			open: func(t *testing.T, prefix string, c *clock) *Store {
				return openEtcdTestStore(t, ep, c, func(o *EtcdOptions) { o.Prefix = prefix })
			},
		},
	}
}

// forEachBackend runs every case on every backend, each case on a fresh
// store.
func forEachBackend(t *testing.T, cases map[string]func(t *testing.T, b backend, space string)) {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range cases {
			if !yield(n) {
				return
			}
		}
	})
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, name := range names {
				t.Run(name, func(t *testing.T) { cases[name](t, b, b.space(t)) })
			}
		})
	}
}

func TestBackends(t *testing.T) {
	forEachBackend(t, map[string]func(*testing.T, backend, string){
		"key lifecycle":      testKeyLifecycle,
		"key cap":            testKeyCap,
		"classifications":    testClassifications,
		"routes":             testRoutes,
		"data keys":          testDataKeys,
		"delete project":     testDeleteProject,
		"delete big project": testDeleteBigProject,
		"expiry and restart": testExpiryAndRestart,
		"wrong master key":   testWrongMasterKey,
	})
}

func noCacheDiff(t *testing.T, s *Store) {
	t.Helper()
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func testKeyLifecycle(t *testing.T, b backend, space string) {
	c := newClock()
	s := b.open(t, space, c)
	p, other := mustProject(t, s, "a"), mustProject(t, s, "b")
	k := mustKey(t, s, p.ID, KeyInput{Name: "svc", Permissions: []string{"encrypt"}})
	if pr, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil || !pr.CanEncrypt || pr.CanDecrypt {
		t.Fatalf("Authenticate = %+v, %v, want an encrypt-only principal", pr, err)
	}
	if _, err := s.Authenticate([]byte(other.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(other project) = %v, want ErrUnauthorized", err)
	}
	fresh, old, err := s.RotateKey(p.ID, k.ID, time.Hour)
	if err != nil || old.RotatedTo != fresh.ID {
		t.Fatalf("RotateKey = %+v, %v, want the old key pointing at the new", old, err)
	}
	c.Advance(time.Hour)
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(rotated key after grace) = %v, want ErrUnauthorized", err)
	}
	if _, err := s.RevokeKey(p.ID, fresh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(fresh.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(revoked) = %v, want ErrUnauthorized", err)
	}
	keys, err := s.Keys(p.ID)
	status := map[string]string{}
	for _, key := range keys {
		status[key.ID] = key.Status(c.Now())
	}
	if err != nil || len(keys) != 2 || status[k.ID] != StatusExpired || status[fresh.ID] != StatusRevoked {
		t.Errorf("Keys = %v, %v, want %s expired and %s revoked", status, err, k.ID, fresh.ID)
	}
	if err := s.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	noCacheDiff(t, s)
}

func testKeyCap(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p := mustProject(t, s, "cap")
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			_, err := s.CreateKey(p.ID, KeyInput{})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrKeyLimit):
				limited.Add(1)
			default:
				t.Errorf("CreateKey = %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || limited.Load() != 15 {
		t.Errorf("25 concurrent CreateKey = %d created, %d refused, want 10 and 15", ok.Load(), limited.Load())
	}
	noCacheDiff(t, s)
}

func testClassifications(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p := mustProject(t, s, "cls")
	mustClass(t, s, p.ID, "pii", "card")
	if _, err := s.CreateClassification(p.ID, ClassificationInput{Slug: "pii"}); !errors.Is(err, ErrClassificationExists) {
		t.Errorf("CreateClassification(pii again) = %v, want ErrClassificationExists", err)
	}
	mask := Mask{ShowFirst: 1, ShowLast: 0, Char: "#"}
	if _, err := s.UpdateClassification(p.ID, "pii", ClassificationInput{Name: "Personal", Mask: &mask}); err != nil {
		t.Fatal(err)
	}
	if m := s.CachedMask([]byte(p.ID), []byte("pii")); m == nil || m.ShowFirst != 1 || m.Char != '#' {
		t.Errorf("CachedMask(pii) = %+v, want the updated mask", m)
	}
	mustKey(t, s, p.ID, KeyInput{Classifications: []string{"card"}})
	var iu *InUseError
	if _, err := s.DeleteClassification(p.ID, "card"); !errors.As(err, &iu) || len(iu.Keys) != 1 {
		t.Errorf("DeleteClassification(card, named by a key) = %v, want an *InUseError naming the key", err)
	}
	if _, err := s.DeleteClassification(p.ID, "pii"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Classifications(p.ID)
	if err != nil || !slices.Equal(classSlugs(list), []string{"card", "none"}) {
		t.Errorf("Classifications = %v, %v, want card, none", classSlugs(list), err)
	}
	noCacheDiff(t, s)
}

func testRoutes(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p := mustProject(t, s, "rt")
	r1 := mustRoute(t, s, p.ID, RouteInput{Path: "/a/**", Order: 2})
	r2 := mustRoute(t, s, p.ID, RouteInput{Path: "/b", Order: 1})
	rs, v1 := s.CachedRoutes([]byte(p.ID))
	if !slices.Equal(routeIDs(rs), []string{r2.ID, r1.ID}) {
		t.Errorf("CachedRoutes = %v, want [%s %s]", routeIDs(rs), r2.ID, r1.ID)
	}
	if _, err := s.UpdateRoute(p.ID, r1.ID, RouteInput{Path: "/a/**", Order: 0}); err != nil {
		t.Fatal(err)
	}
	rs, v2 := s.CachedRoutes([]byte(p.ID))
	if v2 == v1 || !slices.Equal(routeIDs(rs), []string{r1.ID, r2.ID}) {
		t.Errorf("CachedRoutes after reordering = %v (version %d, was %d), want [%s %s] under a new version", routeIDs(rs), v2, v1, r1.ID, r2.ID)
	}
	if _, err := s.DeleteRoute(p.ID, r2.ID); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.CachedRoutes([]byte(p.ID)); !slices.Equal(routeIDs(rs), []string{r1.ID}) {
		t.Errorf("CachedRoutes after a delete = %v, want [%s]", routeIDs(rs), r1.ID)
	}
	noCacheDiff(t, s)
}

func testDataKeys(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p := mustProject(t, s, "dk")
	k, err := s.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, aead, err := k.SealKey(3)
	if err != nil || v != 1 || aead == nil {
		t.Fatalf("SealKey(3) = %d, %v, want version 1", v, err)
	}
	if info, err := s.RotateDataKey(p.ID); err != nil || info.Version != 2 || info.Status != "current" {
		t.Fatalf("RotateDataKey = %+v, %v, want version 2 current", info, err)
	}
	if v, _, _ := k.SealKey(1); v != 2 {
		t.Errorf("SealKey after a rotation = version %d, want 2", v)
	}
	if _, err := s.SetMinDecryptionVersion(p.ID, 3); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetMinDecryptionVersion(3 > current) = %v, want ErrInvalid", err)
	}
	list, err := s.SetMinDecryptionVersion(p.ID, 2)
	if err != nil || len(list) != 2 || list[0].Status != "disabled" || list[0].Seals < 3 {
		t.Errorf("SetMinDecryptionVersion(2) = %+v, %v, want v1 disabled with its 3 seals counted", list, err)
	}
	if _, err := k.OpenKey(1); err == nil {
		t.Error("OpenKey(1) below the minimum = ok, want an error")
	}
	if _, err := k.OpenKey(2); err != nil {
		t.Errorf("OpenKey(2) = %v", err)
	}
}

func testDeleteProject(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p, q := mustProject(t, s, "gone"), mustProject(t, s, "stays")
	k := mustKey(t, s, p.ID, KeyInput{})
	mustClass(t, s, p.ID, "pii")
	mustRoute(t, s, p.ID, postsRoute())
	if _, _, err := mustKeyring(t, s, p.ID).SealKey(1); err != nil {
		t.Fatal(err)
	}
	mustKey(t, s, q.ID, KeyInput{})
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(key of a deleted project) = %v, want ErrUnauthorized", err)
	}
	if _, err := s.Keyring(p.ID); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("Keyring(deleted project) = %v, want ErrProjectNotFound", err)
	}
	if rs, _ := s.CachedRoutes([]byte(p.ID)); len(rs) != 0 {
		t.Errorf("CachedRoutes(deleted project) = %v, want none", routeIDs(rs))
	}
	if list, err := s.Projects(); err != nil || len(list) != 1 || list[0].ID != q.ID {
		t.Errorf("Projects = %v, %v, want only %s", list, err, q.ID)
	}
	noCacheDiff(t, s)
}

func mustKeyring(t *testing.T, s *Store, project string) *Keyring {
	t.Helper()
	k, err := s.Keyring(project)
	if err != nil {
		t.Fatalf("Keyring(%s) = %v", project, err)
	}
	return k
}

func testExpiryAndRestart(t *testing.T, b backend, space string) {
	c := newClock()
	s := b.open(t, space, c)
	p := mustProject(t, s, "exp")
	soon := c.Now().Add(time.Minute)
	k1 := mustKey(t, s, p.ID, KeyInput{ExpiresAt: &soon})
	k2 := mustKey(t, s, p.ID, KeyInput{})
	v, _, err := mustKeyring(t, s, p.ID).SealKey(1)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	if got, err := s.TakeExpired(); err != nil || len(got) != 1 || got[0].ID != k1.ID {
		t.Fatalf("TakeExpired = %v, %v, want [%s]", got, err, k1.ID)
	}
	if got, _ := s.TakeExpired(); len(got) != 0 {
		t.Errorf("TakeExpired again = %v, want none (each expiry once)", got)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(k2.Secret)); err != nil {
		t.Fatal(err)
	}
	usedAt := c.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	s = b.open(t, space, c)
	got, err := s.GetKey(p.ID, k2.ID)
	if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(usedAt) {
		t.Errorf("GetKey after reopening = %+v, %v, want last used %v (flushed on Close)", got, err, usedAt)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(k2.Secret)); err != nil {
		t.Errorf("Authenticate after reopening = %v", err)
	}
	if _, err := mustKeyring(t, s, p.ID).OpenKey(v); err != nil {
		t.Errorf("OpenKey(%d) after reopening = %v", v, err)
	}
	noCacheDiff(t, s)
}

func testWrongMasterKey(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	p := mustProject(t, s, "mk")
	mustKeyring(t, s, p.ID).SealKey(1)
	s.Close()
	wrong := make([]byte, 32)
	var err error
	var other *Store
	if b.name == "bbolt" {
		other, err = Open(space, Options{MasterKey: wrong})
	} else {
		other, err = OpenEtcd(EtcdOptions{Endpoints: s.kv.(*etcdKV).c.Endpoints(), Prefix: space}, Options{MasterKey: wrong})
	}
	if !errors.Is(err, ErrWrongMasterKey) {
		if other != nil {
			other.Close()
		}
		t.Errorf("opening with another master key = %v, want ErrWrongMasterKey", err)
	}
}

// testDeleteBigProject deletes a project with more keys (revoked ones
// pile up) than etcd takes writes in one transaction (made small here:
// etcd's default is 128).
func testDeleteBigProject(t *testing.T, b backend, space string) {
	s := b.open(t, space, newClock())
	if kv, ok := s.kv.(*etcdKV); ok {
		kv.maxTxnOps = 40
		s.maxWrites = kv.maxTxnOps - len(allBuckets) - 8
	}
	p := mustProject(t, s, "big")
	var last NewKey
	for range 45 {
		last = mustKey(t, s, p.ID, KeyInput{})
		if _, err := s.RevokeKey(p.ID, last.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatalf("DeleteProject(45 keys) = %v", err)
	}
	if _, err := s.GetKey(p.ID, last.ID); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("GetKey(a key of the deleted project) = %v, want ErrKeyNotFound", err)
	}
	noCacheDiff(t, s)
}
