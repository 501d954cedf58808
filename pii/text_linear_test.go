package pii

import (
	"strings"
	"testing"
)

// TestFreeTextLinear: the free-text scan is linear in the length of a
// string. A preview reads bodies of up to 1 MiB (pasted from traffic an
// attacker may have written), and the detector runs in the sdproxy process
// with no time limit: a run of '(' (phone-number starts with no digit), or
// many '@' in one word (each looked back to the word's start for "://"),
// took time quadratic in the length (64 KiB of '(' took seconds, 1 MiB
// would take tens of minutes of CPU).
func TestFreeTextLinear(t *testing.T) {
	for _, tc := range []struct{ name, prefix, unit string }{
		{"parentheses", "", "("},
		{"open parenthesis and space", "", "( "},
		{"at signs in one word", "", "x@"},
		{"user info in one word", "see ", "http://a:b@x.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Repeat(tc.unit, (1<<20-64)/len(tc.unit))
			doc := []byte(`{"note":"` + tc.prefix + s + `"}`)
			// No timer: linear takes milliseconds, quadratic tens of
			// minutes, past the test binary's timeout, which fails it.
			if _, err := Detect(doc, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
