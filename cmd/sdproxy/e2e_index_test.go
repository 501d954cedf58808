package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestE2EBlindIndex drives blind indexes through the binary: a route made
// with `route create --index`, a request through the proxy, the header, the
// direct API with `sdproxy index`, and a policy file applied and exported.
func TestE2EBlindIndex(t *testing.T) {
	x := startDataE2E(t, "Users")
	up, cl, p, key, data := x.up, x.cl, x.project, x.key, x.data

	out := cli(t, cl, "route", "create", "--project", p.ID, "--path", "/users/**", "--request-mode", "encrypt",
		"--request-fields", "email,phone", "--index", "email:lower_trim", "--index", "phone:digits")
	if !strings.Contains(out, "index=email:lower_trim,phone:digits") {
		t.Errorf("sdproxy route create --index = %s, want the index rules shown", out)
	}
	want := strings.TrimSpace(cli(t, cl, "index", "--field", "email", "--normalize", "lower_trim", " Ann@Example.com"))
	if len(want) != 22 {
		t.Fatalf("sdproxy index = %q, want a 22-character index", want)
	}
	if got := strings.TrimSpace(cli(t, cl, "index", "--field", "email", "--normalize", "LOWER_TRIM", "ann@example.com")); got != want {
		t.Errorf("sdproxy index of the same normalised value = %s, want %s", got, want)
	}
	if got := strings.TrimSpace(cli(t, cl, "index", "--field", "email", "--json", "null")); got != "null" {
		t.Errorf("sdproxy index --json null = %s, want null", got)
	}
	status, body := post(t, data+"/proxy/"+p.ID+"/users", `{"email":"ANN@example.com","phone":"+1 (555) 0100","email_bidx":"old"}`,
		"X-Qanapi-Authorization", key)
	var got map[string]string
	json.Unmarshal(body, &got)
	phone := strings.TrimSpace(cli(t, cl, "index", "--field", "phone", "--normalize", "digits", "15550100"))
	if status != 201 || got["email_bidx"] != want || got["phone_bidx"] != phone || strings.Contains(string(up.all()), "ANN@") || len(got) != 4 {
		t.Errorf("routed request = %d %s, want email_bidx %s and phone_bidx %s, no plaintext upstream", status, body, want, phone)
	}
	status, body = post(t, data+"/proxy/"+p.ID+"/other", `{"user":{"email":"ann@example.com "}}`,
		"X-Qanapi-Authorization", key, "X-Qanapi-Fields", "user.email", "X-Qanapi-Index", "user.email:lower_trim")
	if status != 201 || !strings.Contains(string(body), `"email_bidx":"`) || strings.Contains(string(body), want) {
		t.Errorf("header request = %d %s, want an index of user.email, not equal to email's", status, body)
	}

	// Policy as code: the index is applied, exported and applied again as a no-op.
	dir := t.TempDir()
	policy := writeFile(t, dir, "p.yaml", `version: 1
projects:
  - name: Accounts
    routes:
      - path: /accounts/**
        methods: [POST]
        request:
          mode: encrypt
          fields: [email, card]
          index:
            - field: email
              normalize: lower_trim
            - {field: card, normalize: digits, name: card_idx, bytes: 8}
`)
	out = cli(t, cl, "apply", "-f", policy)
	if !strings.Contains(out, "Applied:") {
		t.Fatalf("sdproxy apply = %s", out)
	}
	if out = cli(t, cl, "apply", "-f", policy); !strings.HasSuffix(out, "Nothing to change.\n") {
		t.Errorf("second sdproxy apply = %s, want nothing to change", out)
	}
	exported := cli(t, cl, "export", "-o", "yaml")
	if !strings.Contains(exported, "name: card_idx") || !strings.Contains(exported, "normalize: lower_trim") {
		t.Errorf("sdproxy export = %s, want the index rules", exported)
	}
	if out = cli(t, cl, "apply", "-f", writeFile(t, dir, "e.yaml", exported)); !strings.HasSuffix(out, "Nothing to change.\n") {
		t.Errorf("sdproxy apply of its export = %s, want nothing to change", out)
	}
	changed := strings.Replace(mustRead(t, policy), "bytes: 8", "bytes: 12", 1)
	if out = cli(t, cl, "apply", "-f", writeFile(t, dir, "c.yaml", changed), "--dry-run"); !strings.Contains(out, "request.index") {
		t.Errorf("sdproxy apply --dry-run with other bytes = %s, want request.index changed", out)
	}
}
