package proxy

import (
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestBudgetNotSpentOnRefusal: a decrypt-mode request that is refused
// before anything leaves sdproxy (403 destination_not_allowed) spends
// nothing of the key's decrypt budget ("a request that fails for another
// reason spends nothing", docs/decrypt-budgets.md): the values it would
// have decrypted reached no one.
func TestBudgetNotSpentOnRefusal(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.projectIn(keystore.ProjectInput{Destinations: &[]string{"https://partner.test:443"}})
	b := keystore.Budget{Values: 3, Per: 3600e9}
	key := e.key(p.ID, keystore.KeyInput{DecryptBudget: &b})
	tok := e.seal(p.ID, key, `"123-45-6789"`)
	h := []string{HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, "ssn", HeaderDestination, "https://evil.test/collect"}
	for range 4 {
		rtErrorShape(t, "decrypt to a destination not allowed", e.do("POST", "/proxy/"+p.ID, `{"ssn":`+tok+`}`, h...), 403, "destination_not_allowed")
	}
	r := e.do("POST", "/proxy/"+p.ID, `{"ssn":`+tok+`}`, HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, "ssn")
	if r.status != 200 || string(r.body) != `{"ssn":"123-45-6789"}` {
		t.Errorf("decrypt of 1 value after refused requests = %d %s %s, want 200: the budget of 3 is untouched", r.status, r.code(), r.body)
	}
}
