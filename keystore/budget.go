package keystore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Decrypt budgets: an API key may carry a Budget, a cap on how many values
// it decrypts per window, so that a stolen key cannot drain the database.
// Windows are fixed: they start at the Unix epoch and follow each other
// every Per (a budget of 10,000 per 24h renews at 00:00 UTC each day).
// Fixed windows need one counter per key in the store; a sliding window
// would need a record of every spend, or an approximation that over- or
// under-counts at the edges.
//
// Enforcement (budget_spend.go): the store holds, per key, the window it
// counts and how many values of it instances have reserved; an instance
// reserves chunks in one transaction and spends from its chunk in memory,
// so no value is decrypted that was not reserved first (no over-spend,
// however many instances share the store), and values an instance reserved
// but did not spend before it crashed are lost for the rest of the window
// (under-spend, at most one chunk per instance). A graceful shutdown hands
// its unspent values back (Store.Close).

// Bounds of a Budget.
const (
	MaxBudgetValues = 1_000_000_000_000
	MinBudgetPer    = time.Minute
	MaxBudgetPer    = 8760 * time.Hour
)

// Budget caps how many values a key decrypts per window.
type Budget struct {
	// Values is how many values the key may decrypt per window: 1 to
	// MaxBudgetValues.
	Values uint64
	// Per is the window's length: MinBudgetPer to MaxBudgetPer, in whole
	// seconds.
	Per time.Duration
}

// String is "10000/24h", as ParseBudget reads it.
func (b Budget) String() string {
	return strconv.FormatUint(b.Values, 10) + "/" + FormatPer(b.Per)
}

// Validate reports the first field of b that is out of bounds, as a
// *FieldError naming decrypt_budget.values or decrypt_budget.per.
func (b Budget) Validate() error {
	if b.Values < 1 || b.Values > MaxBudgetValues {
		return invalid("decrypt_budget.values", "must be a whole number from 1 to %d", uint64(MaxBudgetValues))
	}
	if b.Per < MinBudgetPer || b.Per > MaxBudgetPer || b.Per%time.Second != 0 {
		return invalid("decrypt_budget.per", "must be a duration from 1m to 8760h in whole seconds, such as \"24h\" or \"30m\"")
	}
	return nil
}

// ParseBudget reads "VALUES/PER" (as the CLI takes it: "10000/24h").
func ParseBudget(s string) (Budget, error) {
	v, p, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Budget{}, invalid("decrypt_budget", "want VALUES/PER, such as 10000/24h")
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return Budget{}, invalid("decrypt_budget.values", "must be a whole number from 1 to %d", uint64(MaxBudgetValues))
	}
	d, err := time.ParseDuration(strings.TrimSpace(p))
	if err != nil {
		return Budget{}, invalid("decrypt_budget.per", "must be a duration such as \"24h\" or \"30m\"")
	}
	b := Budget{Values: n, Per: d}
	return b, b.Validate()
}

// Window returns the window of b that holds t: [start, end).
func (b Budget) Window(t time.Time) (start, end time.Time) {
	s := b.windowStart(t.UnixNano())
	return time.Unix(0, s).UTC(), time.Unix(0, s+int64(b.Per)).UTC()
}

// windowStart is the start (Unix nanoseconds) of the window holding t.
func (b Budget) windowStart(t int64) int64 {
	per := int64(b.Per)
	s := t - t%per
	if t < 0 && t%per != 0 {
		s -= per
	}
	return s
}

// chunk is how many values an instance reserves at once: a 64th of the
// budget, from 1 to 65,536. Smaller chunks share a budget more fairly
// among instances and lose less when one crashes (at most a 64th of the
// budget per crash); larger ones write less (each chunk is one durable
// write, an fsync on bbolt, during which the key's other requests on the
// instance wait).
func (b Budget) chunk() uint64 {
	return min(max(b.Values/64, 1), 1<<16)
}

// BudgetUsage is a key's budget as seen now: by the store, plus what this
// instance holds reserved but unspent.
type BudgetUsage struct {
	WindowStart, WindowEnd time.Time
	// Used is how many values of the window were decrypted or are
	// reserved by other instances.
	Used uint64
	// Remaining is Values - Used.
	Remaining uint64
}

// BudgetExhaustedError is the refusal that first found a key's budget
// spent in its window: one per key and window across every instance
// sharing the store, so that it is reported once. Later refusals in the
// window are ErrBudgetExhausted itself.
type BudgetExhaustedError struct {
	ProjectID, KeyID       string
	Budget                 Budget
	WindowStart, WindowEnd time.Time
}

func (e *BudgetExhaustedError) Error() string {
	return fmt.Sprintf("keystore: decrypt budget of key %s (%s) exhausted until %s", e.KeyID, e.Budget, e.WindowEnd.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBudgetExhausted) true.
func (e *BudgetExhaustedError) Is(target error) bool { return target == ErrBudgetExhausted }

// FormatPer writes a window length the short way: "24h", "30m", "90s".
func FormatPer(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
