//go:build !race

// Allocation tests run without the race detector, which makes sync.Pool
// drop items on purpose; `make test` runs them in a second pass.

package keystore

import (
	"crypto/rand"
	"testing"
)

func TestAuthenticateAllocs(t *testing.T) { authenticateAllocs(t, openTestStore(t, "", newClock())) }

// authenticateAllocs checks that authenticating a valid key from s's
// cache allocates nothing.
func authenticateAllocs(t *testing.T, s *Store) {
	t.Helper()
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
		t.Errorf("Authenticate allocs = %v, want 0", n)
	}
}

func TestParseAPIKeyAllocs(t *testing.T) {
	_, key, _ := newAPIKey(rand.Reader)
	b := []byte(key)
	if n := testing.AllocsPerRun(100, func() { parseAPIKey(b) }); n != 0 {
		t.Errorf("parseAPIKey allocs = %v, want 0", n)
	}
}

func TestCachedRoutesAllocs(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "a")
	if _, err := s.CreateRoute(p.ID, RouteInput{Path: "/posts/**", Response: &RoutePhase{Fields: []string{"title"}}}); err != nil {
		t.Fatal(err)
	}
	project, none := []byte(p.ID), []byte("prj_000000000000")
	n := testing.AllocsPerRun(1000, func() {
		if rs, _ := s.CachedRoutes(project); len(rs) != 1 {
			t.Fatal("no route")
		}
		s.CachedRoutes(none)
		if s.CachedProject(project) == nil {
			t.Fatal("no project")
		}
	})
	if n != 0 {
		t.Errorf("CachedRoutes and CachedProject allocs = %v, want 0", n)
	}
}

func TestCachedClassificationAllocs(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "a")
	mustClass(t, s, p.ID, "pii")
	project, pii, none := []byte(p.ID), []byte("pii"), []byte("none")
	n := testing.AllocsPerRun(1000, func() {
		if _, ok := s.CachedClassification(project, pii); !ok {
			t.Fatal("no pii")
		}
		if s.CachedMask(project, pii) == nil || s.CachedMask(project, none) == nil {
			t.Fatal("no mask")
		}
		s.CachedMask(project, []byte("gone"))
	})
	if n != 0 {
		t.Errorf("CachedClassification and CachedMask allocs = %v, want 0", n)
	}
}

// TestBudgetSpendAllocs: spending from the instance's chunk allocates
// nothing (a new chunk, once per chunk, writes to the store).
func TestBudgetSpendAllocs(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	_, _, pr := budgetKey(t, s, Budget{Values: 1 << 20, Per: 24 * 60 * 60 * 1e9})
	now := c.Now()
	if err := pr.Budget.Spend(now, 1); err != nil { // reserve the first chunk
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(1000, func() {
		if err := pr.Budget.Spend(now, 1); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("DecryptBudget.Spend allocs = %v, want 0", n)
	}
}

func BenchmarkBudgetSpend(b *testing.B) {
	c := newClock()
	s := openTestStore(b, "", c)
	_, _, pr := budgetKey(b, s, Budget{Values: MaxBudgetValues, Per: MaxBudgetPer})
	now := c.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pr.Budget.Spend(now, 2); err != nil {
				b.Fatal(err)
			}
		}
	})
}
