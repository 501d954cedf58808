package admin

import (
	"strings"
	"testing"
)

// A token configured with surrounding spaces or a newline (a secret made
// from a file) is compared without them, as the presented one is.
func TestTokenWithTrailingNewline(t *testing.T) {
	const tok = "sdpa_0123456789abcdef0123456789abcdef"
	e := newAdmEnvWith(t, func(o *Options) { o.Token = tok + "\n" })
	for _, auth := range []string{"Bearer " + tok, "Bearer " + tok + " "} {
		if r := e.rawAuth("GET", "/admin/v1/projects", "", auth); r.status != 200 {
			t.Errorf("token %q configured, %q presented: %d %s", tok+"\n", auth, r.status, r.body)
		}
	}
	if r := e.rawAuth("GET", "/admin/v1/projects", "", "Bearer "+tok[:len(tok)-1]); r.status != 401 {
		t.Errorf("a shorter token: %d, want 401", r.status)
	}
}

// What encoding/json lets through silently is refused, naming the member:
// anything after the object, a member in another letter case or given
// twice, an unknown member inside decrypt_budget, a string for a number.
func TestStrictBodies(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"p1"}`)
	k := e.key(p.ID, `{}`)
	project, keys := "/admin/v1/projects/"+p.ID, "/admin/v1/projects/"+p.ID+"/keys"
	cases := []struct {
		name, method, path, body, want string
	}{
		{"trailing ]", "PATCH", project, `{"name":"p2"}]`, "one JSON object"},
		{"trailing }", "PATCH", project, `{"name":"p2"}}`, "one JSON object"},
		{"trailing object", "PATCH", project, `{"name":"p2"} {}`, "one JSON object"},
		{"other case", "PATCH", project, `{"NAME":"renamed"}`, `NAME: unknown field (names are case-sensitive: "name")`},
		{"twice in other case", "POST", keys, `{"permissions":["encrypt"],"Permissions":["encrypt","decrypt"]}`, "Permissions: unknown field"},
		{"twice", "POST", keys, `{"permissions":["encrypt"],"permissions":["decrypt"]}`, "permissions: given twice"},
		{"nested other case", "POST", keys, `{"decrypt_budget":{"Values":10,"per":"1h"}}`, "decrypt_budget.Values: unknown field"},
		{"budget unknown member", "PATCH", project + "/keys/" + k.ID, `{"decrypt_budget":{"values":10,"per":"1h","window":"24h"}}`, "decrypt_budget.window: unknown field"},
		{"budget values a string", "POST", keys, `{"decrypt_budget":{"values":"10","per":"1h"}}`, "decrypt_budget.values: wrong type, want a number"},
		{"budget values not a number", "PATCH", project + "/keys/" + k.ID, `{"decrypt_budget":{"values":"abc","per":"1h"}}`, "decrypt_budget.values: wrong type, want a number"},
		{"budget not an object", "PATCH", project + "/keys/" + k.ID, `{"decrypt_budget":"10/1h"}`, "decrypt_budget: wrong type, want an object"},
		{"cut short", "PATCH", project, `{"name":"p2"`, "not valid JSON"},
	}
	for _, c := range cases {
		r := e.rawAuth(c.method, c.path, c.body, "Bearer "+admToken)
		if msg := wantError(t, r, c.name, 400, "invalid_request"); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %s %s: message %q, want it to contain %q", c.name, c.method, c.body, msg, c.want)
		}
	}
	// Nothing changed, and what is well formed still works.
	if r := e.rawAuth("GET", project, "", "Bearer "+admToken); !strings.Contains(string(r.body), `"name":"p1"`) {
		t.Errorf("project after refused PATCHes: %s", r.body)
	}
	r := e.rawAuth("PATCH", project+"/keys/"+k.ID, ` {"decrypt_budget":{"values":10,"per":"1h"}} `, "Bearer "+admToken)
	if r.status != 200 || !strings.Contains(string(r.body), `"decrypt_budget":{"values":10,"per":"1h0m0s"}`) && !strings.Contains(string(r.body), `"values":10`) {
		t.Errorf("well-formed budget: %d %s", r.status, r.body)
	}
	if r := e.rawAuth("PATCH", project+"/keys/"+k.ID, `{"decrypt_budget":null}`, "Bearer "+admToken); r.status != 200 {
		t.Errorf("budget removed: %d %s", r.status, r.body)
	}
}
