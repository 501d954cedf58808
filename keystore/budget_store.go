package keystore

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// bucketBudgets holds, per key id, the window a key's decrypt budget
// counts and how many of its values instances have reserved. It is state,
// not configuration: Copy does not carry it (a copied store starts the
// current window afresh).
var bucketBudgets = []byte("budgets")

// budgetRecord is a key's count as stored.
type budgetRecord struct {
	// Window is the start of the window counted (Unix nanoseconds).
	Window int64 `json:"window"`
	// Reserved is how many values of the window instances have reserved
	// (spent, or held in a chunk).
	Reserved uint64 `json:"reserved"`
	// Noted: the window's first refusal has been reported.
	Noted bool `json:"noted,omitempty"`
}

// budgetJSON is a Budget as stored in a key record.
type budgetJSON struct {
	Values     uint64 `json:"values"`
	PerSeconds int64  `json:"per_s"`
}

func encodeBudget(b *Budget) *budgetJSON {
	if b == nil {
		return nil
	}
	return &budgetJSON{Values: b.Values, PerSeconds: int64(b.Per / time.Second)}
}

func decodeBudget(j *budgetJSON) *Budget {
	if j == nil {
		return nil
	}
	return &Budget{Values: j.Values, Per: time.Duration(j.PerSeconds) * time.Second}
}

// budgetFor returns the in-memory budget of a key with limit b (nil for
// none), keeping the one c holds while its limit is unchanged. The caller
// holds c.mu.
func (c *authCache) budgetForLocked(keyID, projectID string, b *Budget) *DecryptBudget {
	if b == nil {
		delete(c.budgets, keyID)
		return nil
	}
	if cur := c.budgets[keyID]; cur != nil && cur.limit == *b {
		return cur
	}
	d := newDecryptBudget(c.owner, keyID, projectID, *b)
	c.budgets[keyID] = d
	return d
}

// BudgetUsage returns how much of key's budget is left in the window
// holding now, as the store counts it plus what this instance holds
// reserved and unspent; nil when the key has no budget.
func (s *Store) budgetUsage(tx kvTx, k *Key, now time.Time) (*BudgetUsage, error) {
	if k.DecryptBudget == nil {
		return nil, nil
	}
	lim := *k.DecryptBudget
	ws, we := lim.Window(now)
	var rec budgetRecord
	if err := getJSON(tx.Bucket(bucketBudgets), k.ID, &rec, nil); err != nil {
		return nil, err
	}
	var used uint64
	if rec.Window == ws.UnixNano() {
		used = min(rec.Reserved, lim.Values)
	}
	if d := s.cachedBudget(k.ID); d != nil && d.limit == lim {
		if w := d.win.Load(); w != nil && w.start == ws.UnixNano() {
			rest := w.reserved.Load() - min(w.used.Load(), w.reserved.Load())
			used -= min(rest, used) // held here, not spent yet
		}
	}
	return &BudgetUsage{WindowStart: ws, WindowEnd: we, Used: used, Remaining: lim.Values - used}, nil
}

func (s *Store) cachedBudget(keyID string) *DecryptBudget {
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	return s.cache.budgets[keyID]
}

// withBudgetUsage sets the usage of every key of keys that has a budget.
func (s *Store) withBudgetUsage(keys []Key) error {
	now := s.now()
	return s.kv.View(func(tx kvTx) error {
		for i := range keys {
			u, err := s.budgetUsage(tx, &keys[i], now)
			if err != nil {
				return err
			}
			keys[i].BudgetUsage = u
		}
		return nil
	})
}

// BudgetGauge is the remaining budget of one active key, for metrics.
type BudgetGauge struct {
	ProjectID, KeyID string
	Remaining        uint64
}

// BudgetGauges lists what is left of the budget of every active key that
// has one, in the window holding now, as this instance sees it (the
// store's count as last read or, on etcd, as the watch reported it, plus
// its own chunk). Revoked, expired and deleted keys are not listed.
func (s *Store) BudgetGauges() []BudgetGauge {
	now := s.now()
	t := now.UnixNano()
	var out []BudgetGauge
	s.cache.mu.RLock()
	for id, d := range s.cache.budgets {
		e := s.cache.keys[id]
		if e == nil || e.revoked || e.expiresAt != 0 && t >= e.expiresAt {
			continue
		}
		rem := d.limit.Values
		if w := d.win.Load(); w != nil && t >= w.start && t < w.end {
			rem = min(w.left(d.limit.Values), d.limit.Values)
		}
		out = append(out, BudgetGauge{ProjectID: d.projectID, KeyID: id, Remaining: rem})
	}
	s.cache.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].KeyID < out[j].KeyID })
	return out
}

// giveBackBudgets returns to the store what this instance reserved and
// did not spend in the current windows, so that a graceful restart loses
// nothing of any budget: in one transaction (on etcd, in transactions of
// at most maxWrites keys). It runs once no request spends any more.
func (s *Store) giveBackBudgets() error {
	type giveBack struct {
		d      *DecryptBudget
		window int64
		rest   uint64
	}
	now := s.now().UnixNano()
	s.cache.mu.RLock()
	all := make([]*DecryptBudget, 0, len(s.cache.budgets))
	for _, d := range s.cache.budgets {
		all = append(all, d)
	}
	s.cache.mu.RUnlock()
	var todo []giveBack
	for _, d := range all {
		d.mu.Lock() // no reservation in flight; held until the store has the rest back
		defer d.mu.Unlock()
		if w, rest := d.unspent(now); rest > 0 {
			todo = append(todo, giveBack{d, w, rest})
		}
	}
	for len(todo) > 0 {
		batch := todo
		if s.maxWrites > 0 && len(batch) > s.maxWrites {
			batch = batch[:s.maxWrites]
		}
		todo = todo[len(batch):]
		_, err := s.kv.Update(func(tx kvTx) error {
			bk := tx.Bucket(bucketBudgets)
			for _, g := range batch {
				var rec budgetRecord
				if err := getJSON(bk, g.d.keyID, &rec, nil); err != nil {
					return err
				}
				if rec.Window != g.window {
					continue
				}
				rec.Reserved -= min(g.rest, rec.Reserved)
				if err := putJSON(bk, g.d.keyID, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("keystore: give back decrypt budgets: %w", err)
		}
		for _, g := range batch {
			w := g.d.win.Load()
			w.reserved.Store(w.used.Load())
		}
	}
	return nil
}

// applyBudget notes another instance's reservation, as the watch reports
// it, so that this instance's view of what is left (metrics) follows.
func (s *Store) applyBudget(keyID string, value []byte) error {
	d := s.cachedBudget(keyID)
	if d == nil {
		return nil
	}
	var rec budgetRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return err
	}
	if w := d.win.Load(); w != nil && w.start == rec.Window && rec.Reserved > w.stored.Load() {
		w.stored.Store(rec.Reserved)
	}
	return nil
}

// SetKeyBudget sets (nil: removes) the decrypt budget of a key. What the
// key decrypted in the current window counts against the new budget.
func (s *Store) SetKeyBudget(projectID, keyID string, b *Budget) (Key, error) {
	if b != nil {
		if err := b.Validate(); err != nil {
			return Key{}, err
		}
		c := *b
		b = &c
	}
	var rec keyRecord
	err := s.update(func(tx kvTx) error {
		if err := getProjectKey(tx, projectID, keyID, &rec); err != nil {
			return err
		}
		rec.DecryptBudget = b
		return putJSON(tx.Bucket(bucketKeys), keyID, &rec)
	}, func() { s.cache.putKey(&rec) })
	if err != nil {
		return Key{}, fmt.Errorf("keystore.SetKeyBudget %s: %w", keyID, err)
	}
	return s.GetKey(projectID, keyID)
}

// unusedBudget is the usage of a new key's budget b (nil: none) at now.
func unusedBudget(b *Budget, now time.Time) *BudgetUsage {
	if b == nil {
		return nil
	}
	ws, we := b.Window(now)
	return &BudgetUsage{WindowStart: ws, WindowEnd: we, Remaining: b.Values}
}
