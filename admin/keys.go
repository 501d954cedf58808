package admin

import (
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// view shows k as the admin API does, with its status now.
func (a *Admin) view(k keystore.Key) wire.Key { return keyView(k, a.now()) }

func (a *Admin) listKeys(ctx *fasthttp.RequestCtx, project string) error {
	keys, err := a.store.Keys(project)
	if err != nil {
		return err
	}
	status := string(ctx.QueryArgs().Peek("status"))
	switch status {
	case "", keystore.StatusActive, keystore.StatusRevoked, keystore.StatusExpired:
	default:
		return httpapi.BadRequest("status: want active, revoked or expired")
	}
	if status != "" {
		kept := keys[:0]
		for _, k := range keys {
			if k.Status(a.now()) == status {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	return writePage(ctx, keys, func(k keystore.Key) sortKey { return sortKey{k.CreatedAt, k.ID} }, a.view)
}

func (a *Admin) createKey(ctx *fasthttp.RequestCtx, project string) error {
	var body wire.KeyInput // expires_at is parsed here so a bad time gets an error naming the field
	if err := decodeBody(ctx, &body); err != nil {
		return err
	}
	in := keystore.KeyInput{Name: body.Name, Permissions: body.Permissions, Classifications: body.Classifications}
	if body.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *body.ExpiresAt)
		if err != nil {
			return httpapi.BadRequest("expires_at: want an RFC 3339 time such as 2027-01-01T00:00:00Z")
		}
		in.ExpiresAt = &t
	}
	budget, err := parseBudget(body.DecryptBudget)
	if err != nil {
		return err
	}
	in.DecryptBudget = budget
	nk, err := a.store.CreateKey(project, in)
	if err != nil {
		return err
	}
	details := map[string]string{"name": nk.Name, "permissions": strings.Join(nk.Permissions, ",")}
	if nk.DecryptBudget != nil {
		details["decrypt_budget"] = nk.DecryptBudget.String()
	}
	a.record(events.TypeKeyCreated, project, nk.ID, details)
	v := a.view(nk.Key)
	v.Secret = nk.Secret
	ctx.Response.Header.Set("Cache-Control", "no-store")
	httpapi.WriteJSON(ctx, 201, v)
	return nil
}

func (a *Admin) getKey(ctx *fasthttp.RequestCtx, project, id string) error {
	k, err := a.store.GetKey(project, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(ctx, 200, a.view(k))
	return nil
}

func (a *Admin) revokeKey(ctx *fasthttp.RequestCtx, project, id string) error {
	k, err := a.store.RevokeKey(project, id)
	if err != nil {
		return err
	}
	a.record(events.TypeKeyRevoked, project, k.ID, nil)
	httpapi.WriteJSON(ctx, 200, a.view(k))
	return nil
}

func (a *Admin) rotateKey(ctx *fasthttp.RequestCtx, project, id string) error {
	var in wire.RotateInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	grace := 24 * time.Hour
	if in.GracePeriod != "" {
		d, err := time.ParseDuration(in.GracePeriod)
		if err != nil || d < 0 {
			return httpapi.BadRequest(`grace_period: want a duration such as "24h" or "0s"`)
		}
		grace = d
	}
	nk, old, err := a.store.RotateKey(project, id, grace)
	if err != nil {
		return err
	}
	a.record(events.TypeKeyRotated, project, old.ID, map[string]string{"new_key_id": nk.ID, "grace_period": grace.String()})
	v := a.view(nk.Key)
	v.Secret = nk.Secret
	ctx.Response.Header.Set("Cache-Control", "no-store")
	httpapi.WriteJSON(ctx, 201, v)
	return nil
}

// updateKey is PATCH …/keys/{id}: {"decrypt_budget": {values, per}} sets
// the key's budget, {"decrypt_budget": null} removes it.
func (a *Admin) updateKey(ctx *fasthttp.RequestCtx, project, id string) error {
	var body wire.KeyUpdate
	if err := decodeBody(ctx, &body); err != nil {
		return err
	}
	if len(body.DecryptBudget) == 0 {
		return httpapi.BadRequest("decrypt_budget: required (an object {values, per}, or null to remove the budget)")
	}
	var wb *wire.Budget
	if err := decodeStrict(body.DecryptBudget, &wb, "decrypt_budget"); err != nil {
		return err
	}
	budget, err := parseBudget(wb)
	if err != nil {
		return err
	}
	k, err := a.store.SetKeyBudget(project, id, budget)
	if err != nil {
		return err
	}
	change := "none"
	if budget != nil {
		change = budget.String()
	}
	a.record(events.TypeKeyUpdated, project, k.ID, map[string]string{"decrypt_budget": change})
	httpapi.WriteJSON(ctx, 200, a.view(k))
	return nil
}

// parseBudget turns a budget of the wire into the store's (nil for none);
// a bad one is a 400 naming the field.
func parseBudget(b *wire.Budget) (*keystore.Budget, error) {
	if b == nil {
		return nil, nil
	}
	n, err := strconv.ParseUint(string(b.Values), 10, 64)
	if err != nil {
		return nil, httpapi.BadRequest("decrypt_budget.values: want a whole number from 1 to " + strconv.FormatUint(keystore.MaxBudgetValues, 10))
	}
	d, err := time.ParseDuration(b.Per)
	if err != nil {
		return nil, httpapi.BadRequest(`decrypt_budget.per: want a duration from 1m to 8760h, such as "24h" or "30m"`)
	}
	out := keystore.Budget{Values: n, Per: d}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}
