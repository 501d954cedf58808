package admin

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestAdminKeyBudget: a budget set at creation shows in the key's JSON
// with the current window's usage, is carried over by a rotation, and can
// be changed and removed with PATCH; a key without one shows nulls.
func TestAdminKeyBudget(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Budgets"}`)
	keys := "/admin/v1/projects/" + p.ID + "/keys"
	plain := e.callOK("POST", keys, `{}`, 201)
	m := admMembers(t, plain.body)
	for _, name := range []string{"decrypt_budget", "decrypt_budget_used", "decrypt_budget_remaining", "decrypt_budget_window_end"} {
		if got := string(m[name]); got != "null" {
			t.Errorf("key without budget: %s = %s, want null", name, got)
		}
	}
	r := e.callOK("POST", keys, `{"name":"capped","decrypt_budget":{"values":10000,"per":"24h"}}`, 201)
	var k admKey
	admDecode(t, r.body, &k)
	m = admMembers(t, r.body)
	for name, want := range map[string]string{
		"decrypt_budget": `{"values":10000,"per":"24h"}`, "decrypt_budget_used": "0", "decrypt_budget_remaining": "10000",
		"decrypt_budget_window_end": `"2026-03-05T00:00:00Z"`,
	} {
		if got := string(m[name]); got != want {
			t.Errorf("POST %s: %s = %s, want %s", keys, name, got, want)
		}
	}
	// Spend some as the data plane does; GET shows it.
	pr, err := e.store.Authenticate([]byte(p.ID), []byte(k.Key))
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Budget.Spend(e.clock.Now(), 188); err != nil {
		t.Fatal(err)
	}
	m = admMembers(t, e.callOK("GET", keys+"/"+k.ID, "", 200).body)
	if used, left := string(m["decrypt_budget_used"]), string(m["decrypt_budget_remaining"]); used != "188" || left != "9812" {
		t.Errorf("GET key after 188 decrypts: used %s, remaining %s, want 188 and 9812", used, left)
	}
	list := string(e.callOK("GET", keys, "", 200).body)
	if !strings.Contains(list, `"decrypt_budget_remaining":9812`) {
		t.Errorf("GET %s = %s, want the budgeted key with 9812 remaining", keys, list)
	}
	rot := admMembers(t, e.callOK("POST", keys+"/"+k.ID+"/rotate", `{}`, 201).body)
	if got := string(rot["decrypt_budget"]); got != `{"values":10000,"per":"24h"}` {
		t.Errorf("rotated key's decrypt_budget = %s, want the old key's", got)
	}
	m = admMembers(t, e.callOK("PATCH", keys+"/"+k.ID, `{"decrypt_budget":{"values":500,"per":"30m"}}`, 200).body)
	if got := string(m["decrypt_budget"]); got != `{"values":500,"per":"30m"}` {
		t.Errorf("PATCH decrypt_budget = %s, want 500 per 30m", got)
	}
	if got, _ := e.store.GetKey(p.ID, k.ID); got.DecryptBudget == nil || *got.DecryptBudget != (keystore.Budget{Values: 500, Per: 30 * 60e9}) {
		t.Errorf("store after PATCH: budget %v, want 500/30m", got.DecryptBudget)
	}
	m = admMembers(t, e.callOK("PATCH", keys+"/"+k.ID, `{"decrypt_budget":null}`, 200).body)
	if got := string(m["decrypt_budget"]); got != "null" {
		t.Errorf("PATCH decrypt_budget null: decrypt_budget = %s, want null", got)
	}
	pr, _ = e.store.Authenticate([]byte(p.ID), []byte(k.Key))
	if pr.Budget != nil {
		t.Errorf("principal after the budget was removed has a budget")
	}
}

func TestAdminKeyBudgetInvalid(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Budgets"}`)
	keys := "/admin/v1/projects/" + p.ID + "/keys"
	k := e.key(p.ID, `{}`)
	cases := []struct{ name, method, path, body, field string }{
		{"values zero", "POST", keys, `{"decrypt_budget":{"values":0,"per":"24h"}}`, "decrypt_budget.values"},
		{"values fraction", "POST", keys, `{"decrypt_budget":{"values":1.5,"per":"24h"}}`, "decrypt_budget.values"},
		{"values negative", "POST", keys, `{"decrypt_budget":{"values":-1,"per":"24h"}}`, "decrypt_budget.values"},
		{"values too many", "POST", keys, `{"decrypt_budget":{"values":1000000000001,"per":"24h"}}`, "decrypt_budget.values"},
		{"values missing", "POST", keys, `{"decrypt_budget":{"per":"24h"}}`, "decrypt_budget.values"},
		{"per too short", "POST", keys, `{"decrypt_budget":{"values":10,"per":"30s"}}`, "decrypt_budget.per"},
		{"per too long", "POST", keys, `{"decrypt_budget":{"values":10,"per":"8761h"}}`, "decrypt_budget.per"},
		{"per not a duration", "POST", keys, `{"decrypt_budget":{"values":10,"per":"daily"}}`, "decrypt_budget.per"},
		{"per missing", "POST", keys, `{"decrypt_budget":{"values":10}}`, "decrypt_budget.per"},
		{"unknown member", "POST", keys, `{"decrypt_budget":{"values":10,"per":"1h","burst":3}}`, "burst"},
		{"patch nothing", "PATCH", keys + "/" + k.ID, `{}`, "decrypt_budget"},
		{"patch bad", "PATCH", keys + "/" + k.ID, `{"decrypt_budget":{"values":0,"per":"1h"}}`, "decrypt_budget.values"},
		{"patch wrong type", "PATCH", keys + "/" + k.ID, `{"decrypt_budget":"10000/24h"}`, "decrypt_budget"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, tc.body)
			msg := wantError(t, r, tc.method+" "+tc.body, 400, "invalid_request")
			if !strings.Contains(msg, tc.field) {
				t.Errorf("%s %s message = %q, want it to name %q", tc.method, tc.body, msg, tc.field)
			}
		})
	}
	if r := e.call("PATCH", keys+"/qk_nosuchkey000", `{"decrypt_budget":null}`); r.status != 404 {
		t.Errorf("PATCH unknown key = %d, want 404", r.status)
	}
}
