package keystore

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// openStores opens n stores on the same etcd.
func openStores(t *testing.T, ep []string, c *clock, n int, set ...func(*EtcdOptions)) []*Store {
	var out []*Store
	for range n {
		out = append(out, openEtcdTestStore(t, ep, c, set...))
	}
	return out
}

// TestEtcdKeyCapAcrossStores: 50 concurrent creates spread over three
// instances leave exactly 10 active keys.
func TestEtcdKeyCapAcrossStores(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	stores := openStores(t, ep, c, 3)
	p := mustProject(t, stores[0], "cap")
	eventually(t, propagation, "project on every store", func() error {
		for i, s := range stores {
			if s.CachedProject([]byte(p.ID)) == nil {
				return fmt.Errorf("store %d lacks it", i)
			}
		}
		return nil
	})
	var created, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := stores[i%3].CreateKey(p.ID, KeyInput{})
			switch {
			case err == nil:
				created.Add(1)
			case errors.Is(err, ErrKeyLimit):
				refused.Add(1)
			default:
				t.Errorf("CreateKey on store %d = %v", i%3, err)
			}
		})
	}
	wg.Wait()
	if created.Load() != 10 || refused.Load() != 40 {
		t.Errorf("50 concurrent CreateKey over 3 stores = %d created, %d refused, want 10 and 40", created.Load(), refused.Load())
	}
	for i, s := range stores {
		keys, err := s.Keys(p.ID)
		if err != nil || len(keys) != 10 {
			t.Errorf("store %d: Keys = %d keys, %v, want 10", i, len(keys), err)
		}
	}
}

// block is a range [from, to) of a data-key version's seal counter that
// one store took.
type block struct {
	store    int
	from, to uint64
}

// TestEtcdSealReservationsAcrossStores: three instances sealing at once
// never take the same block of a version's counter, each seals only
// within its blocks, the blocks of a version add up exactly to what is
// stored, and every version was made once (all instances open every
// version with the same key).
func TestEtcdSealReservationsAcrossStores(t *testing.T) {
	const limit = 3 * reserveBlock // a few rotations
	ep := startEtcd(t)
	c := newClock()
	stores := openStores(t, ep, c, 3)
	var mu sync.Mutex
	blocks := map[uint32][]block{}
	sealed := map[uint32]map[int]uint64{} // version → store → values sealed
	for i, s := range stores {
		s.opts.DataKeyRotateAfter = limit
		s.onReserve = func(_ string, v uint32, from, to uint64) {
			mu.Lock()
			blocks[v] = append(blocks[v], block{i, from, to})
			mu.Unlock()
		}
	}
	p := mustProject(t, stores[0], "seal")
	var wg sync.WaitGroup
	for i, s := range stores {
		for range 3 {
			wg.Go(func() {
				k := eventuallyKeyring(t, s, p.ID)
				for range 60 {
					v, _, err := k.SealKey(1000)
					if err != nil {
						t.Errorf("store %d: SealKey = %v", i, err)
						return
					}
					mu.Lock()
					if sealed[v] == nil {
						sealed[v] = map[int]uint64{}
					}
					sealed[v][i] += 1000
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	taken := checkBlocks(t, blocks, storedReservations(t, stores[0], p.ID), limit)
	for v := range blocks {
		for i, n := range sealed[v] {
			if n > taken[v][i] {
				t.Errorf("version %d: store %d sealed %d values in blocks of %d", v, i, n, taken[v][i])
			}
		}
	}
	if len(blocks) < 2 {
		t.Errorf("versions used = %d, want several (rotations under load)", len(blocks))
	}
	checkSameDataKeys(t, stores, p.ID)
}

// checkBlocks checks that the blocks each version's counter was reserved
// in neither overlap nor leave a gap, and end at the stored counter,
// within limit: a reservation applied twice would leave a gap (a block
// nobody was told of). It returns the amount each store took of each
// version.
func checkBlocks(t *testing.T, blocks map[uint32][]block, stored map[uint32]uint64, limit uint64) map[uint32]map[int]uint64 {
	t.Helper()
	taken := map[uint32]map[int]uint64{}
	for v, bs := range blocks {
		slices.SortFunc(bs, func(a, b block) int { return cmp.Compare(a.from, b.from) })
		var next uint64
		taken[v] = map[int]uint64{}
		for _, b := range bs {
			if b.from != next {
				t.Errorf("version %d: block [%d, %d) of store %d follows %d: blocks overlap or leave a gap", v, b.from, b.to, b.store, next)
			}
			next = b.to
			taken[v][b.store] += b.to - b.from
		}
		if next != stored[v] || next > limit {
			t.Errorf("version %d: blocks end at %d, stored counter %d, limit %d", v, next, stored[v], limit)
		}
	}
	return taken
}

func eventuallyKeyring(t *testing.T, s *Store, project string) *Keyring {
	var k *Keyring
	eventually(t, propagation, "keyring", func() (err error) {
		k, err = s.Keyring(project)
		return err
	})
	return k
}

// storedReservations reads the stored seal counter of each version.
func storedReservations(t *testing.T, s *Store, project string) map[uint32]uint64 {
	out := map[uint32]uint64{}
	err := s.kv.View(func(tx kvTx) error {
		d, err := readDataKeys(tx, func(key string, err error) { t.Errorf("data key %s: %v", key, err) })
		if err != nil {
			return err
		}
		for _, rec := range d[project].recs {
			out[rec.Version] = rec.Reserved
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSameDataKeys checks that every store holds every stored version,
// with the same key: a value sealed by one opens on the others.
func checkSameDataKeys(t *testing.T, stores []*Store, project string) {
	t.Helper()
	want := storedReservations(t, stores[0], project)
	for v := uint32(1); v <= uint32(len(want)); v++ {
		if _, ok := want[v]; !ok {
			t.Errorf("stored versions %v skip %d", want, v)
		}
	}
	for v := range want {
		held := make([]*dataKeyVersion, len(stores))
		for i, s := range stores {
			eventually(t, propagation, fmt.Sprintf("version %d on store %d", v, i), func() error {
				k, err := s.Keyring(project)
				if err != nil {
					return err
				}
				if held[i] = (*k.versions.Load())[v]; held[i] == nil {
					return errors.New("missing")
				}
				return nil
			})
		}
		for i, sealer := range held {
			nonce := make([]byte, sealer.aead.NonceSize())
			ct := sealer.aead.Seal(nil, nonce, []byte("x"), nil)
			for j, dk := range held {
				if _, err := dk.aead.Open(nil, nonce, ct, nil); err != nil {
					t.Errorf("version %d sealed on store %d does not open on store %d", v, i, j)
				}
			}
		}
	}
}

// TestEtcdRotateDataKeyAcrossStores: concurrent rotations on three
// instances make three new versions, each once.
func TestEtcdRotateDataKeyAcrossStores(t *testing.T) {
	ep := startEtcd(t)
	stores := openStores(t, ep, newClock(), 3)
	p := mustProject(t, stores[0], "rot")
	if _, err := stores[0].RotateDataKey(p.ID); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []uint32
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			eventuallyKeyring(t, s, p.ID)
			info, err := s.RotateDataKey(p.ID)
			if err != nil {
				t.Errorf("store %d: RotateDataKey = %v", i, err)
				return
			}
			mu.Lock()
			got = append(got, info.Version)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(got)
	if !slices.Equal(got, []uint32{2, 3, 4}) {
		t.Errorf("versions made by 3 concurrent rotations = %v, want [2 3 4]", got)
	}
	checkSameDataKeys(t, stores, p.ID)
	for i, s := range stores {
		eventually(t, propagation, fmt.Sprintf("store %d current version", i), func() error {
			k, _ := s.Keyring(p.ID)
			if cur := k.current.Load(); cur == nil || cur.rec.Version != 4 {
				return fmt.Errorf("current = %v, want 4", cur)
			}
			return nil
		})
	}
}

// TestEtcdChangesReachOtherStores: projects, routes, classifications and
// project deletions made on one instance reach another.
func TestEtcdChangesReachOtherStores(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "p")
	up := "http://upstream.test"
	mustClass(t, a, p.ID, "pii")
	r := mustRoute(t, a, p.ID, postsRoute())
	if _, err := a.UpdateProject(p.ID, ProjectInput{Upstream: &up}); err != nil {
		t.Fatal(err)
	}
	eventually(t, propagation, "project, route and classification on B", func() error {
		if q := b.CachedProject([]byte(p.ID)); q == nil || q.Upstream != up {
			return fmt.Errorf("CachedProject = %+v", q)
		}
		if rs, _ := b.CachedRoutes([]byte(p.ID)); len(rs) != 1 || rs[0].ID != r.ID {
			return fmt.Errorf("CachedRoutes = %v", routeIDs(rs))
		}
		if _, ok := b.CachedClassification([]byte(p.ID), []byte("pii")); !ok {
			return errors.New("no classification pii")
		}
		return nil
	})
	noCacheDiff(t, b)
	if err := b.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, propagation, "project deletion on A", func() error {
		if a.CachedProject([]byte(p.ID)) != nil {
			return errors.New("still cached")
		}
		if rs, _ := a.CachedRoutes([]byte(p.ID)); len(rs) != 0 {
			return fmt.Errorf("CachedRoutes = %v", routeIDs(rs))
		}
		return nil
	})
	noCacheDiff(t, a)
}
