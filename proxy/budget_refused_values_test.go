package proxy

import (
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestRefusedDecryptRecordsNoValues: the request event of a decrypt-mode
// request refused before its plaintext leaves sdproxy (429
// decrypt_budget_exhausted, 403 destination_not_allowed) counts no
// request values: none was decrypted for anyone, as the budget says by
// spending nothing, and as the response phase and the direct API record
// a refused decrypt. An audit summing request_values of a stolen key's
// decrypts must not count refused ones.
func TestRefusedDecryptRecordsNoValues(t *testing.T) {
	sink := &indexSink{}
	e := newRTEnv(t, rtOptions{events: sink})
	p := e.projectIn(keystore.ProjectInput{Destinations: &[]string{"https://partner.test:443"}})
	b := keystore.Budget{Values: 1, Per: 3600e9}
	key := e.key(p.ID, keystore.KeyInput{DecryptBudget: &b})
	tok := e.seal(p.ID, key, `"123-45-6789"`)
	body := `{"ssn":` + tok + `,"ssn2":` + tok + `}`
	dec := []string{HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, "ssn,ssn2"}
	rtErrorShape(t, "decrypt to a destination not allowed", e.do("POST", "/proxy/"+p.ID, body, append(dec, HeaderDestination, "https://evil.test/collect")...), 403, "destination_not_allowed")
	rtErrorShape(t, "decrypt of 2 values with a budget of 1", e.do("POST", "/proxy/"+p.ID, body, dec...), 429, "decrypt_budget_exhausted")
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, r := range sink.recs {
		if r.Mode == "decrypt" && r.RequestValues != 0 {
			t.Errorf("event of a refused decrypt (%d) counts %d request values, want 0", r.Status, r.RequestValues)
		}
	}
}
