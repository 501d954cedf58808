package keystore

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseBudget(t *testing.T) {
	cases := []struct {
		in    string
		want  Budget
		field string // of the *FieldError; "" for none
	}{
		{"10000/24h", Budget{10000, 24 * time.Hour}, ""},
		{" 1 / 1m ", Budget{1, time.Minute}, ""},
		{"1000000000000/8760h", Budget{MaxBudgetValues, MaxBudgetPer}, ""},
		{"0/24h", Budget{}, "decrypt_budget.values"},
		{"1000000000001/24h", Budget{}, "decrypt_budget.values"},
		{"-5/24h", Budget{}, "decrypt_budget.values"},
		{"1.5/24h", Budget{}, "decrypt_budget.values"},
		{"10/59s", Budget{}, "decrypt_budget.per"},
		{"10/8761h", Budget{}, "decrypt_budget.per"},
		{"10/90500ms", Budget{}, "decrypt_budget.per"},
		{"10/day", Budget{}, "decrypt_budget.per"},
		{"10", Budget{}, "decrypt_budget"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBudget(tc.in)
			var fe *FieldError
			switch {
			case tc.field == "" && (err != nil || got != tc.want):
				t.Fatalf("ParseBudget(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("ParseBudget(%q) = %v, want a FieldError naming %s", tc.in, err, tc.field)
			}
		})
	}
}

func TestBudgetWindow(t *testing.T) {
	b := Budget{Values: 1, Per: 24 * time.Hour}
	s, e := b.Window(time.Date(2026, 5, 6, 23, 59, 59, 0, time.UTC))
	if want := time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC); !s.Equal(want) || !e.Equal(want.Add(24*time.Hour)) {
		t.Errorf("Window = %v, %v, want %v and a day later", s, e, want)
	}
	b.Per = 7 * time.Minute // windows are multiples of Per from the epoch
	s, _ = b.Window(time.Unix(7*60*1000+30, 0))
	if s.Unix() != 7*60*1000 {
		t.Errorf("Window(7m*1000+30s) starts at %d, want %d", s.Unix(), 7*60*1000)
	}
}

// budgetKey creates a project and a key with budget b in s.
func budgetKey(t testing.TB, s *Store, b Budget) (Project, NewKey, *Principal) {
	t.Helper()
	p := mustProject(t, s, "budgeted")
	k := mustKey(t, s, p.ID, KeyInput{DecryptBudget: &b})
	pr, err := s.Authenticate([]byte(p.ID), []byte(k.Secret))
	if err != nil || pr.Budget == nil {
		t.Fatalf("Authenticate = %+v, %v, want a principal with a budget", pr, err)
	}
	return p, k, pr
}

func TestBudgetSpend(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	_, k, pr := budgetKey(t, s, Budget{Values: 100, Per: time.Hour})
	b := pr.Budget
	if err := b.Spend(c.Now(), 60); err != nil {
		t.Fatalf("Spend(60 of 100) = %v", err)
	}
	if err := b.Spend(c.Now(), 41); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("Spend(41 with 40 left) = %v, want ErrBudgetExhausted", err)
	}
	if err := b.Spend(c.Now(), 40); err != nil {
		t.Fatalf("Spend(40 with 40 left) = %v, want nil: a refusal spends nothing", err)
	}
	if err := b.Spend(c.Now(), 1); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("Spend(1 with 0 left) = %v, want ErrBudgetExhausted", err)
	}
	if !b.Exhausted(c.Now()) {
		t.Errorf("Exhausted = false after a refusal with nothing left")
	}
	got, err := s.GetKey(k.ProjectID, k.ID)
	if err != nil || got.BudgetUsage == nil || got.BudgetUsage.Used != 100 || got.BudgetUsage.Remaining != 0 {
		t.Fatalf("GetKey = %+v, %v, want usage 100 used, 0 remaining", got.BudgetUsage, err)
	}
	// The next window starts afresh.
	_, end := Budget{Per: time.Hour}.Window(c.Now())
	c.Set(end)
	if b.Exhausted(c.Now()) {
		t.Errorf("Exhausted = true in a new window")
	}
	if err := b.Spend(c.Now(), 100); err != nil {
		t.Fatalf("Spend(100) in the next window = %v", err)
	}
	if g := s.BudgetGauges(); len(g) != 1 || g[0].Remaining != 0 || g[0].KeyID != k.ID {
		t.Errorf("BudgetGauges = %+v, want %s with 0 remaining", g, k.ID)
	}
}

// TestBudgetFirstRefusal: the first refusal of a window is a
// *BudgetExhaustedError, every later one plain ErrBudgetExhausted; the
// next window has its own first.
func TestBudgetFirstRefusal(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	_, k, pr := budgetKey(t, s, Budget{Values: 2, Per: time.Minute})
	firsts := 0
	for window := range 2 {
		for i := range 5 {
			err := pr.Budget.Spend(c.Now(), 1)
			var be *BudgetExhaustedError
			switch {
			case i < 2 && err != nil:
				t.Fatalf("window %d: Spend #%d = %v, want nil", window, i, err)
			case errors.As(err, &be):
				firsts++
				if be.KeyID != k.ID || be.Budget.Values != 2 || be.WindowEnd.Sub(be.WindowStart) != time.Minute {
					t.Errorf("BudgetExhaustedError = %+v", be)
				}
			case i >= 2 && !errors.Is(err, ErrBudgetExhausted):
				t.Fatalf("window %d: Spend #%d = %v, want ErrBudgetExhausted", window, i, err)
			}
			c.Advance(2 * recheck) // past the local recheck: each refusal asks the store
		}
		if firsts != window+1 {
			t.Fatalf("after window %d: %d first refusals, want %d", window, firsts, window+1)
		}
		_, end := pr.Budget.Limit().Window(c.Now())
		c.Set(end)
	}
}

// TestBudgetConcurrent: many goroutines spending one value each succeed
// exactly as many times as the budget allows.
func TestBudgetConcurrent(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	const values = 5000
	_, _, pr := budgetKey(t, s, Budget{Values: values, Per: time.Hour})
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 2 * values / 16 {
				switch err := pr.Budget.Spend(c.Now(), 1); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrBudgetExhausted):
					refused.Add(1)
				default:
					t.Errorf("Spend = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != values {
		t.Fatalf("%d spends succeeded (%d refused), want exactly %d", ok.Load(), refused.Load(), values)
	}
}

// TestBudgetRestart: a restart resumes from the stored count; a graceful
// close gives back the unspent rest of the chunk, so nothing is lost.
func TestBudgetRestart(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p, k, pr := budgetKey(t, s, Budget{Values: 1000, Per: time.Hour})
	if err := pr.Budget.Spend(c.Now(), 3); err != nil {
		t.Fatalf("Spend(3) = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	s = openTestStore(t, dir, c)
	got, err := s.GetKey(p.ID, k.ID)
	if err != nil || got.BudgetUsage == nil || got.BudgetUsage.Used != 3 {
		t.Fatalf("GetKey after restart = %+v, %v, want 3 used (the chunk's rest given back)", got.BudgetUsage, err)
	}
	pr, err = s.Authenticate([]byte(p.ID), []byte(k.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Budget.Spend(c.Now(), 997); err != nil {
		t.Fatalf("Spend(997 of the 997 left) = %v", err)
	}
	if err := pr.Budget.Spend(c.Now(), 1); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("Spend past the budget after restart = %v, want ErrBudgetExhausted", err)
	}
}

// TestBudgetRotation: a rotated key's replacement has the same budget.
func TestBudgetRotation(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p, k, _ := budgetKey(t, s, Budget{Values: 7, Per: time.Hour})
	nk, _, err := s.RotateKey(p.ID, k.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if nk.DecryptBudget == nil || *nk.DecryptBudget != (Budget{7, time.Hour}) {
		t.Fatalf("RotateKey: new key's budget = %v, want 7/1h", nk.DecryptBudget)
	}
	if _, err := s.CreateKey(p.ID, KeyInput{DecryptBudget: &Budget{Values: 0, Per: time.Hour}}); err == nil {
		t.Fatalf("CreateKey(budget of 0 values) = nil, want an error")
	}
}

// TestEtcdBudgetShared: two instances on one etcd share one budget: the
// values they decrypt together never pass it, and one finds the refusal
// first.
func TestEtcdBudgetShared(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	const values = 300
	p, k, pa := budgetKey(t, a, Budget{Values: values, Per: time.Hour})
	var pb *Principal
	eventually(t, propagation, "key reaching B", func() error {
		var err error
		pb, err = b.Authenticate([]byte(p.ID), []byte(k.Secret))
		return err
	})
	var ok, firsts atomic.Int64
	var wg sync.WaitGroup
	for _, pr := range []*Principal{pa, pa, pb, pb} {
		wg.Go(func() {
			for range values {
				err := pr.Budget.Spend(c.Now(), 1)
				var be *BudgetExhaustedError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &be):
					firsts.Add(1)
				case !errors.Is(err, ErrBudgetExhausted):
					t.Errorf("Spend = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Each instance spends its whole chunk before asking again, so on
	// two live instances nothing is left unspent.
	if ok.Load() != values {
		t.Fatalf("%d spends succeeded on two instances, want exactly %d", ok.Load(), values)
	}
	if firsts.Load() != 1 {
		t.Errorf("%d first refusals across both instances, want 1", firsts.Load())
	}
}

// TestBudgetCrash: an instance that dies without closing loses the unspent
// rest of its chunk for the window (the documented under-spend bound),
// and never lets a value through twice.
func TestBudgetCrash(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := Budget{Values: 6400, Per: time.Hour} // chunk: 100
	p, k, pr := budgetKey(t, s, b)
	if err := pr.Budget.Spend(c.Now(), 3); err != nil {
		t.Fatal(err)
	}
	s.closeOnce.Do(func() {}) // a crash: no give-back, no flush
	if err := s.kv.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, c)
	got, err := s.GetKey(p.ID, k.ID)
	if err != nil || got.BudgetUsage == nil || got.BudgetUsage.Used != b.chunk() {
		t.Fatalf("GetKey after a crash = %+v, %v, want the whole chunk (%d) counted as used", got.BudgetUsage, err, b.chunk())
	}
}
