//go:build !race

package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestAllocsMaskedByClassification pins the response phase of a
// decrypt_masked key, each value masked by its own classification's mask
// (looked up in the store's cache), to zero allocations; and checks that
// a classification header on an encrypt (looked up likewise) adds none.
func TestAllocsMaskedByClassification(t *testing.T) {
	e := newRTEnv(t, rtOptions{realClock: true})
	answer := new(string)
	e.benchUpstream("bench.test:80", answer, false)
	p := e.project("http://bench.test/api")
	if _, err := e.store.CreateClassification(p.ID, keystore.ClassificationInput{Slug: "pii", Mask: &keystore.Mask{ShowFirst: 2, Char: "#"}}); err != nil {
		t.Fatal(err)
	}
	mustClass(t, e.store, p.ID, "card")
	full := e.key(p.ID, keystore.KeyInput{})
	masked := e.key(p.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecryptMasked}})
	*answer = `{"name":` + e.seal(p.ID, full, `"Ada Lovelace"`, HeaderClassification, "pii") +
		`,"card":` + e.seal(p.ID, full, `"4111 1111 1111 1234"`, HeaderClassification, "card") +
		`,"note":` + e.seal(p.ID, full, `"hello world"`) + `}`
	in := keystore.RouteInput{Path: "/orders/**", Response: &keystore.RoutePhase{Fields: []string{"name", "card", "note"}}}
	if _, err := e.store.CreateRoute(p.ID, in); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, raw, want string
	}{
		{"masked response", strings.Join([]string{
			rtStatusLine("GET", "/proxy/"+p.ID+"/orders/42"), "Host: sdproxy.example", HeaderAuthorization + ": " + masked, "", ""}, "\r\n"),
			`{"name":"Ad##########","card":"***************1234","note":"*******orld"}`},
		{"encrypt with a classification", strings.Join([]string{
			rtStatusLine("POST", "/proxy/"+p.ID), "Host: sdproxy.example", HeaderAuthorization + ": " + full,
			HeaderFields + ": ssn", HeaderClassification + ": pii", "Content-Length: 13", "", `{"ssn":"123"}`}, "\r\n"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &rtRig{data: e.data}
			if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(tc.raw))); err != nil {
				t.Fatal(err)
			}
			r.ctx.Init(&r.tmpl, rtClientAddr, nil)
			for range 20 {
				r.check(t)
			}
			if body := string(r.ctx.Response.Body()); tc.want != "" && body != tc.want {
				t.Fatalf("Data.Handler(%s) = %s, want %s", tc.name, body, tc.want)
			}
			ok := true
			if got := testing.AllocsPerRun(1000, func() { ok = r.serve() && ok }); got != 0 || !ok {
				t.Errorf("Data.Handler(%s) allocs = %v (all 200: %t), want 0", tc.name, got, ok)
			}
		})
	}
}
