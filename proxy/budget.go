package proxy

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// Decrypt budgets (see keystore.Budget): every value a request decrypts
// counts, in the request phase (decrypt mode), the response phase (plain
// or masked: both open the token) and the direct API. A phase opens its
// values into a buffer of its own, then spends them all at once; when the
// budget cannot cover them all, the buffer is dropped and the request is
// refused 429 decrypt_budget_exhausted, so no value leaves. Encrypting is
// never counted.

// spendBudget spends n decrypted values of the key's budget, or refuses
// the request: 429 with Retry-After (whole seconds to the window's end),
// and, for the window's first refusal, a key.budget_exhausted event.
func (d *Data) spendBudget(ctx *fasthttp.RequestCtx, st *reqState, n int) error {
	b := st.principal.Budget
	if b == nil || n <= 0 {
		return nil
	}
	err := b.Spend(st.start, n)
	if err == nil || !errors.Is(err, keystore.ErrBudgetExhausted) {
		return err
	}
	d.refuseBudget(ctx, st, b)
	var first *keystore.BudgetExhaustedError
	if errors.As(err, &first) {
		d.recordExhausted(first, st.start)
	}
	return errBudgetExhausted
}

// checkBudget refuses, before anything is forwarded, a request whose
// answer would be decrypted with a key this instance knows to have
// nothing left in its window.
func (d *Data) checkBudget(ctx *fasthttp.RequestCtx, st *reqState) error {
	b, p := st.principal.Budget, &st.resp
	if b == nil || !p.active || p.mode != modeDecrypt || !st.principal.CanDecrypt && !st.principal.CanDecryptMasked {
		return nil
	}
	if !b.Exhausted(st.start) {
		return nil
	}
	d.refuseBudget(ctx, st, b)
	return errBudgetExhausted
}

func (d *Data) refuseBudget(ctx *fasthttp.RequestCtx, st *reqState, b *keystore.DecryptBudget) {
	st.budgetRefused = true
	var num [20]byte
	wait := b.WindowEnd(st.start).Sub(st.start)
	ctx.Response.Header.SetCanonical(canonRetryAfter, strconv.AppendInt(num[:0], ceilSeconds(wait, 1), 10))
}

// recordExhausted records the window's first refusal.
func (d *Data) recordExhausted(e *keystore.BudgetExhaustedError, now time.Time) {
	if d.audit == nil {
		return
	}
	id := e.KeyID
	d.audit.Record(events.Event{
		Type: events.TypeKeyBudgetExhausted, Time: now.UTC(), ProjectID: e.ProjectID, KeyID: &id, Actor: "sdproxy",
		Details: map[string]string{
			"values":       strconv.FormatUint(e.Budget.Values, 10),
			"per":          keystore.FormatPer(e.Budget.Per),
			"window_start": e.WindowStart.Format(time.RFC3339),
			"window_end":   e.WindowEnd.Format(time.RFC3339),
		},
	})
}
