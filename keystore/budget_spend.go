package keystore

import (
	"sync"
	"sync/atomic"
	"time"
)

// DecryptBudget is the in-memory state of one key's decrypt budget on
// this instance: the window it counts and the chunk of it this instance
// has reserved in the store. Principal.Budget points to it; it is kept
// across changes of the key's record while the budget stays the same.
type DecryptBudget struct {
	s         *Store
	keyID     string
	projectID string
	limit     Budget

	// mu serialises this instance's reservations for the key, never the
	// spends that fit in the chunk.
	mu  sync.Mutex
	win atomic.Pointer[budgetWindow]
}

// budgetWindow is one window's count on this instance.
type budgetWindow struct {
	start, end int64 // Unix nanoseconds
	// used of the reserved values this instance has spent; reserved only
	// grows, under DecryptBudget.mu.
	used, reserved atomic.Uint64
	// stored is the store's reserved count (every instance's) as last
	// seen; refused is when (Unix nanoseconds) the store last could not
	// cover a request, 0 if never in this window.
	stored  atomic.Uint64
	refused atomic.Int64
}

// recheck is how long after the store refused a reservation this
// instance refuses without asking it again: a spent budget costs the
// store one read per key and instance per recheck, however many requests
// come.
const recheck = time.Second

func newDecryptBudget(s *Store, keyID, projectID string, b Budget) *DecryptBudget {
	return &DecryptBudget{s: s, keyID: keyID, projectID: projectID, limit: b}
}

// Limit is the budget.
func (b *DecryptBudget) Limit() Budget { return b.limit }

// WindowEnd is the end of the window that holds now.
func (b *DecryptBudget) WindowEnd(now time.Time) time.Time {
	if w := b.win.Load(); w != nil && now.UnixNano() < w.end && now.UnixNano() >= w.start-int64(b.limit.Per) {
		return time.Unix(0, w.end) // the window this instance counts, which may be a later one
	}
	_, end := b.limit.Window(now)
	return end
}

// take spends n of the chunk, if it holds them.
func (w *budgetWindow) take(n uint64) bool {
	for {
		u := w.used.Load()
		if u+n > w.reserved.Load() {
			return false
		}
		if w.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// left is what this instance may still spend in w without asking the
// store: its chunk's rest, plus what the store had left when last seen.
func (w *budgetWindow) left(values uint64) uint64 {
	rest := w.reserved.Load() - min(w.used.Load(), w.reserved.Load())
	return rest + values - min(w.stored.Load(), values)
}

// Spend counts n decrypted values at now. It returns nil when the budget
// covers all n (they are spent), ErrBudgetExhausted (or, for the first
// refusal of the window across every instance, a *BudgetExhaustedError)
// when it does not (none is spent), or the store's error when a
// reservation could not be written. While the instance's chunk holds n
// it neither allocates nor locks.
func (b *DecryptBudget) Spend(now time.Time, n int) error {
	if n <= 0 {
		return nil
	}
	t := now.UnixNano()
	if w := b.win.Load(); w != nil && t >= w.start && t < w.end && w.take(uint64(n)) {
		return nil
	}
	return b.spendSlow(t, uint64(n))
}

// Exhausted reports whether this instance knows, without asking the store,
// that nothing is left in the window holding now: the proxy then refuses a
// request whose answer it would decrypt before forwarding it.
func (b *DecryptBudget) Exhausted(now time.Time) bool {
	t := now.UnixNano()
	w := b.win.Load()
	if w == nil || t < w.start || t >= w.end {
		return false
	}
	r := w.refused.Load()
	return r != 0 && t-r < int64(recheck) && w.left(b.limit.Values) == 0
}

// spendSlow is Spend when the chunk does not hold n: a new window, or a
// reservation of another chunk.
func (b *DecryptBudget) spendSlow(t int64, n uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.windowLocked(b.limit.windowStart(t))
	if n > b.limit.Values {
		return ErrBudgetExhausted // no window can cover it
	}
	for {
		if w.take(n) {
			return nil
		}
		if r := w.refused.Load(); r != 0 && t-r < int64(recheck) && w.left(b.limit.Values) < n {
			return ErrBudgetExhausted
		}
		res, err := b.reserve(w, n)
		switch {
		case err != nil:
			return err
		case res.newer != 0:
			w = b.windowLocked(res.newer)
			continue
		case res.granted == 0 && !res.refused:
			continue // the chunk held n when reserve looked
		case res.granted == 0:
			w.refused.Store(max(t, 1))
			if res.first {
				return &BudgetExhaustedError{
					ProjectID: b.projectID, KeyID: b.keyID, Budget: b.limit,
					WindowStart: time.Unix(0, w.start).UTC(), WindowEnd: time.Unix(0, w.end).UTC(),
				}
			}
			return ErrBudgetExhausted
		}
		w.reserved.Add(res.granted)
	}
}

// windowLocked returns the window this instance counts, moved on to the
// one starting at start when that is later. A window never moves back: an
// instance whose clock lags joins the window the store has moved on to.
// The caller holds b.mu.
func (b *DecryptBudget) windowLocked(start int64) *budgetWindow {
	w := b.win.Load()
	if w != nil && w.start >= start {
		return w
	}
	w = &budgetWindow{start: start, end: start + int64(b.limit.Per)}
	b.win.Store(w)
	return w
}

// reservation is what one reservation transaction found.
type reservation struct {
	granted uint64 // values added to this instance's chunk
	refused bool   // the window has less left than n needs
	first   bool   // refused, and this is the window's first refusal
	newer   int64  // the store counts a later window, starting here
}

// reserve takes another chunk of w from the store for n values, in one
// transaction: at least what n needs beyond the chunk's rest, at most what
// the window has left; nothing when that is less than n needs.
func (b *DecryptBudget) reserve(w *budgetWindow, n uint64) (reservation, error) {
	rest := w.reserved.Load() - min(w.used.Load(), w.reserved.Load())
	need := n - min(rest, n)
	values := b.limit.Values
	var res reservation
	var stored uint64
	_, err := b.s.kv.Update(func(tx kvTx) error {
		res, stored = reservation{}, 0
		bk := tx.Bucket(bucketBudgets)
		var rec budgetRecord
		if err := getJSON(bk, b.keyID, &rec, nil); err != nil {
			return err
		}
		switch {
		case rec.Window > w.start:
			res.newer = rec.Window
			return nil
		case rec.Window < w.start:
			rec = budgetRecord{Window: w.start}
		}
		left := values - min(rec.Reserved, values)
		stored = rec.Reserved
		if left < need {
			res.refused, res.first = true, !rec.Noted
			if !res.first {
				return nil
			}
			rec.Noted = true // the refusal is reported once per window
			return putJSON(bk, b.keyID, rec)
		}
		if left == 0 {
			return nil // the chunk's rest covers n, if no one else takes it first
		}
		res.granted = min(left, max(need, b.limit.chunk()))
		rec.Reserved += res.granted
		stored = rec.Reserved
		return putJSON(bk, b.keyID, rec)
	})
	if err == nil && res.newer == 0 {
		w.stored.Store(stored)
	}
	return res, err
}

// unspent is what this instance reserved in the window holding now and
// has not spent, and that window's start; 0 when none.
func (b *DecryptBudget) unspent(now int64) (window int64, rest uint64) {
	w := b.win.Load()
	if w == nil || now >= w.end {
		return 0, 0
	}
	return w.start, w.reserved.Load() - min(w.used.Load(), w.reserved.Load())
}
