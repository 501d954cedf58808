package keystore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheMatchesStoreUnderConcurrentWrites races, round after round, every
// writer of key and project records on one key and its project: two
// revokes, two rotations (with and without a grace period), a create, two
// project updates and one of the last-used flush, TakeExpired, a clock step
// or an authentication; every fifth round also deletes its project.
// Afterwards the in-memory cache must be exactly what a restart would load
// from the file, every key the file holds as active must authenticate and
// every other key (revoked, expired, deleted) must be refused. During the
// run, a key is never accepted after its RevokeKey has returned.
//
// In the "widened" case every write, after its commit and before its cache
// update, waits until another write has returned (or it has yielded a
// random, bounded number of times): the interleaving that leaves an older
// record in the cache when commit and cache update are not one step. The
// code path is the real one; only its timing changes.
func TestCacheMatchesStoreUnderConcurrentWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		widen bool
	}{
		{"plain", false},
		{"widened", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			s := openTestStore(t, "", c)
			s.db.NoSync = true // durability is not under test; quick commits queue up
			st := newStress(t, s, c)
			if tc.widen {
				st.widenCommitWindow()
			}
			st.run(100)
			s.afterCommit = nil
			if err := s.FlushLastUsed(); err != nil {
				t.Fatalf("FlushLastUsed() = %v", err)
			}
			for _, d := range cacheDiff(s) {
				t.Error(d)
			}
			st.checkAuthMatchesStore()
		})
	}
}

// TestRevokeDuringRotationStaysRevoked forces the interleaving of issue
// item 8: RevokeKey(k) runs after RotateKey(k) has committed and before
// the rotation updates the cache, and is given every chance to finish
// first. The rotation's copy of k (not revoked) must not replace the
// revoked one in the cache.
func TestRevokeDuringRotationStaysRevoked(t *testing.T) {
	s := openTestStore(t, "", newClock())
	s.db.NoSync = true
	p := mustProject(t, s, "race")
	k := mustKey(t, s, p.ID, KeyInput{})
	var started atomic.Bool
	var revokeErr error
	done := make(chan struct{})
	s.afterCommit = func() {
		if !started.CompareAndSwap(false, true) {
			return // the revoke's own commit
		}
		go func() {
			defer close(done)
			_, revokeErr = s.RevokeKey(p.ID, k.ID)
		}()
		// The revoke can finish here only if it need not wait for this
		// rotation to update the cache.
		for i := 0; i < 100000 && !isClosed(done); i++ {
			runtime.Gosched()
		}
	}
	if _, _, err := s.RotateKey(p.ID, k.ID, time.Hour); err != nil {
		t.Fatalf("RotateKey(%s) = %v", k.ID, err)
	}
	<-done
	s.afterCommit = nil
	if revokeErr != nil {
		t.Fatalf("RevokeKey(%s) = %v", k.ID, revokeErr)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(%s) after RevokeKey = %v, want ErrUnauthorized", k.ID, err)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

type stressKey struct{ id, project, secret string }

// stress drives rounds of concurrent writes against one store.
type stress struct {
	t        *testing.T
	s        *Store
	c        *clock
	r        *rand.Rand    // used by the round planner only
	projects []string      // every project created, deleted or not
	written  atomic.Uint64 // writes that have returned successfully

	mu      sync.Mutex
	keys    []stressKey // every key created, oldest first
	revoked map[string]bool
	deleted map[string]bool
}

func newStress(t *testing.T, s *Store, c *clock) *stress {
	return &stress{t: t, s: s, c: c, r: rand.New(rand.NewPCG(1, 2)), revoked: map[string]bool{}, deleted: map[string]bool{}}
}

// addProject creates a project with one key, between rounds.
func (st *stress) addProject() string {
	name := fmt.Sprintf("p%d", len(st.projects))
	limit := 1000
	p, err := st.s.CreateProject(ProjectInput{Name: &name, MaxActiveKeys: &limit})
	if err != nil {
		st.t.Fatalf("CreateProject(%s) = %v", name, err)
	}
	st.projects = append(st.projects, p.ID)
	k := mustKey(st.t, st.s, p.ID, KeyInput{Name: "k"})
	st.keys = append(st.keys, stressKey{k.ID, p.ID, k.Secret})
	return p.ID
}

// widenCommitWindow makes every write wait, after its commit and before its
// cache update, until another write has returned or it has yielded a
// random number of times (below spinLimit). Writes queued one behind the
// other then tend to reach the cache in reverse order, unless commit and
// cache update are one step.
func (st *stress) widenCommitWindow() {
	const spinLimit = 5000
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(3, 4))
	st.s.afterCommit = func() {
		mu.Lock()
		limit := r.IntN(spinLimit)
		mu.Unlock()
		n := st.written.Load()
		for i := 0; i < limit && st.written.Load() == n; i++ {
			runtime.Gosched()
		}
	}
}

// run plays rounds, each a set of operations started together on the
// newest key of one live project. Every fifth round also deletes its
// project, and a new one takes its place.
func (st *stress) run(rounds int) {
	for i := range rounds {
		var live []string
		for _, p := range st.projects {
			if !st.deleted[p] {
				live = append(live, p)
			}
		}
		if len(live) < 3 {
			live = append(live, st.addProject())
		}
		ops := st.plan(live[i%len(live)], i%5 == 4)
		var wg sync.WaitGroup
		for _, op := range ops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				op()
			}()
		}
		wg.Wait()
	}
}

// plan returns one round's operations on project p, in random order.
func (st *stress) plan(p string, deleteProject bool) []func() {
	var k stressKey
	for _, c := range st.keys {
		if c.project == p {
			k = c
		}
	}
	graces := []time.Duration{0, 30 * time.Second, time.Hour}
	ops := []func(){
		func() { st.revoke(k) },
		func() { st.revoke(k) },
		st.rotater(k, time.Hour),
		st.rotater(k, graces[st.r.IntN(len(graces))]),
		st.updater(p, fmt.Sprintf("a%d", st.r.IntN(1000)), RateLimit{float64(1 + st.r.IntN(100)), 1 + st.r.IntN(100)}),
		st.updater(p, fmt.Sprintf("b%d", st.r.IntN(1000)), RateLimit{float64(1 + st.r.IntN(100)), 1 + st.r.IntN(100)}),
		st.creator(p),
		st.extra(st.r.IntN(4), st.keys[st.r.IntN(len(st.keys))]),
	}
	if deleteProject {
		ops = append(ops, func() {
			err := st.s.DeleteProject(p)
			st.check("DeleteProject", err)
			if err == nil {
				st.mu.Lock()
				st.deleted[p] = true
				st.mu.Unlock()
			}
		})
	}
	st.r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	return ops
}

func (st *stress) revoke(k stressKey) {
	_, err := st.s.RevokeKey(k.project, k.id)
	if err == nil {
		st.mu.Lock()
		st.revoked[k.id] = true
		st.mu.Unlock()
	}
	st.check("RevokeKey", err)
}

func (st *stress) rotater(k stressKey, grace time.Duration) func() {
	return func() {
		fresh, _, err := st.s.RotateKey(k.project, k.id, grace)
		if err == nil {
			st.add(stressKey{fresh.ID, k.project, fresh.Secret})
		}
		st.check("RotateKey", err)
	}
}

func (st *stress) creator(p string) func() {
	return func() {
		fresh, err := st.s.CreateKey(p, KeyInput{Name: "k"})
		if err == nil {
			st.add(stressKey{fresh.ID, p, fresh.Secret})
		}
		st.check("CreateKey", err)
	}
}

func (st *stress) updater(p, name string, rl RateLimit) func() {
	return func() {
		_, err := st.s.UpdateProject(p, ProjectInput{Name: &name, RateLimit: &rl})
		st.check("UpdateProject", err)
	}
}

// extra returns the round's last operation: a flush of last-used times,
// TakeExpired, a clock step, or an authentication with k.
func (st *stress) extra(n int, k stressKey) func() {
	switch n {
	case 0:
		return func() { st.check("FlushLastUsed", st.s.FlushLastUsed()) }
	case 1:
		return func() {
			_, err := st.s.TakeExpired()
			st.check("TakeExpired", err)
		}
	case 2:
		return func() { st.c.Advance(10 * time.Second) }
	}
	return func() { st.authenticate(k) }
}

// authenticate checks that a key whose revocation has returned is refused.
func (st *stress) authenticate(k stressKey) {
	st.mu.Lock()
	revoked := st.revoked[k.id]
	st.mu.Unlock()
	_, err := st.s.Authenticate([]byte(k.project), []byte(k.secret))
	if revoked && err == nil {
		st.t.Errorf("Authenticate(%s) after RevokeKey returned = ok, want ErrUnauthorized", k.id)
	}
}

func (st *stress) add(k stressKey) {
	st.mu.Lock()
	st.keys = append(st.keys, k)
	st.mu.Unlock()
}

// check counts a successful write and fails the test on any error the race
// itself does not explain.
func (st *stress) check(op string, err error) {
	if err == nil {
		st.written.Add(1)
		return
	}
	if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrKeyLimit) {
		st.t.Errorf("%s = %v", op, err)
	}
}

// checkAuthMatchesStore authenticates with every key ever made: a key the
// store holds as active is accepted, any other (revoked, expired, deleted)
// is refused; and every project reads the same from cache and store.
func (st *stress) checkAuthMatchesStore() {
	t, s, now := st.t, st.s, st.c.Now()
	for _, k := range st.keys {
		stored, err := s.GetKey(k.project, k.id)
		if err != nil && !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("GetKey(%s) = %v", k.id, err)
		}
		active := err == nil && stored.Status(now) == StatusActive
		_, err1 := s.Authenticate([]byte(k.project), []byte(k.secret))
		_, err2 := s.AuthenticateKey([]byte(k.secret))
		for _, err := range []error{err1, err2} {
			if active && err != nil {
				t.Errorf("Authenticate(%s) = %v, want ok (the store holds it active)", k.id, err)
			}
			if !active && !errors.Is(err, ErrUnauthorized) {
				t.Errorf("Authenticate(%s) = %v, want ErrUnauthorized (the store holds it %s)", k.id, err, storedStatus(stored, now))
			}
		}
	}
	for _, id := range st.projects {
		stored, err := s.Project(id)
		if err != nil && !errors.Is(err, ErrProjectNotFound) {
			t.Fatalf("Project(%s) = %v", id, err)
		}
		cached := s.CachedProject([]byte(id))
		switch {
		case err != nil && cached != nil:
			t.Errorf("CachedProject(%s) = %s, want nil (deleted in the store)", id, describeProject(cached))
		case err == nil && (cached == nil || !sameProject(*cached, stored)):
			t.Errorf("CachedProject(%s) = %s, want %s", id, describeProject(cached), describeProject(&stored))
		}
	}
}

func storedStatus(k Key, now time.Time) string {
	if k.ID == "" {
		return "deleted"
	}
	return k.Status(now)
}
