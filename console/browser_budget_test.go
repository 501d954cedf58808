package console

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The step of TestConsoleInBrowser for decrypt budgets.

// createBudgetedKey creates a key with a decrypt budget of 10 per 24
// hours through the dialog, decrypts 3 values with it through the direct
// API, and sees the list show what is left after Refresh.
func (s *scenario) createBudgetedKey() {
	t, p := s.t, s.p
	p.click("opening Create API Key", "#create-key")
	p.wait("the Create API Key dialog", `document.querySelector("dialog[open] #key-budget-values")`)
	p.typeInto("naming the key", "#key-name", "reports")
	p.typeInto("setting the decrypt budget", "#key-budget-values", "10")
	p.setValue("choosing per 24 hours", "#key-budget-per", "24h")
	p.click("creating the key", "#create-key-submit")
	p.wait("the one-time key", `document.querySelector("#new-key")`)
	key := p.text("#new-key")
	id := key[:strings.LastIndex(key, "_")]
	p.click("closing the key dialog", "#close-key")
	row := `tr[data-key-id="` + id + `"]`
	p.wait("the budgeted key in the list", `!document.querySelector("dialog") && document.querySelector('`+row+`')`)
	if got := p.text(row + " .budget"); !strings.Contains(got, "10 per 24h · 10 left") {
		t.Errorf("budget cell of a new key = %q, want \"10 per 24h · 10 left\"", got)
	}
	status, body := s.srv.directDecrypt3(t, s.project, key)
	if status != 200 {
		t.Fatalf("decrypting 3 values with the budgeted key = %d %s, want 200", status, body)
	}
	p.click("refreshing the keys", "#refresh-keys")
	p.wait("what is left after 3 decrypts", `document.querySelector('`+row+` .budget').textContent.includes("10 per 24h · 7 left")`)
	p.screenshotAt(s.shots, "keys-budget", row)
	series := `sdproxy_decrypt_budget_remaining{key="` + id + `",project="` + s.project + `"} 7`
	if m := s.srv.metrics(t); !strings.Contains(m, series) {
		t.Errorf("/metrics lacks %s", series)
	}
	// Revoked (so the project is under its cap again), the key's series goes.
	if st := s.srv.admin(t, "POST", "/admin/v1/projects/"+s.project+"/keys/"+id+"/revoke", nil, nil); st != 200 {
		t.Fatalf("revoking the budgeted key = %d, want 200", st)
	}
	if m := s.srv.metrics(t); strings.Contains(m, `key="`+id+`"`) {
		t.Errorf("/metrics still has a budget series of the revoked key %s", id)
	}
	p.click("refreshing the keys", "#refresh-keys")
	p.wait("the budgeted key revoked", `document.querySelector('`+row+`.status-revoked')`)
}

// metrics returns the admin listener's /metrics.
func (s *sdproxy) metrics(t *testing.T) string {
	t.Helper()
	resp, err := s.client.Get(s.adminURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// directDecrypt3 seals a value with key through the direct API, then
// decrypts three copies of it in one call; it returns the decrypt's status
// and body.
func (s *sdproxy) directDecrypt3(t *testing.T, project, key string) (int, string) {
	t.Helper()
	call := func(path, body string) (int, string) {
		req, err := http.NewRequest("POST", s.dataURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Qanapi-Authorization", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	status, enc := call("/api-v1/v1/encrypt", `{"data":"ssn 123"}`)
	i, j := strings.Index(enc, `"qanapi:`), strings.LastIndex(enc, `:$"`)
	if status != 200 || i < 0 || j < i {
		t.Fatalf("encrypt = %d %s, want a token", status, enc)
	}
	tok := enc[i : j+3]
	return call("/api-v1/v1/decrypt", `{"data":[`+tok+`,`+tok+`,`+tok+`]}`)
}
