package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestResponseRange: a client's Range cannot cut, out of an answer whose
// fields a response rule encrypts, a document of its own in which the
// rule's paths name nothing ({"ssn": …} out of {"profile": {"ssn": …}}).
// The upstream is asked for the whole answer; one that answers in part
// anyway is refused.
func TestResponseRange(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	doc := `{"profile":{"ssn":"123-45-6789"},"name":"Ann"}`
	var ranges []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/partners/{id}", func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "p.json", time.Time{}, strings.NewReader(doc))
	})
	mux.HandleFunc("GET /api/always-partial", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Range", "bytes 11-31/46")
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte(doc[11:32]))
	})
	e.httpUpstream("up.test:80", mux)
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/**",
		Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"profile.ssn"}}}); err != nil {
		t.Fatal(err)
	}
	key := e.key(p.ID, keystore.KeyInput{})
	i, j := strings.Index(doc, `{"ssn"`), strings.Index(doc, `}`)
	rg := "bytes=" + rtItoa(i) + "-" + rtItoa(j)
	r := e.do("GET", "/proxy/"+p.ID+"/partners/1", "", HeaderAuthorization, key, "Range", rg, "If-Range", `"x"`)
	if r.status != 200 || strings.Contains(string(r.body), "123-45-6789") || !strings.Contains(string(r.body), `"ssn":"qanapi:`) {
		t.Errorf("GET with Range: %s = %d %s, want 200 with the whole answer, its ssn encrypted", rg, r.status, r.body)
	}
	if len(ranges) != 1 || ranges[0] != "|" {
		t.Errorf("the upstream got Range|If-Range %q, want none", ranges)
	}
	r = e.do("GET", "/proxy/"+p.ID+"/always-partial", "", HeaderAuthorization, key)
	rtErrorShape(t, "an answer in part (206)", r, 502, "response_not_transformable")
	if strings.Contains(string(r.body), "123-45-6789") {
		t.Errorf("206 refused with the plaintext: %s", r.body)
	}
}
