package fieldcrypt

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzValidate is differential. For any document and field list:
//   - Validate accepts what encoding/json.Valid accepts, except for the
//     documented differences: duplicate keys (ErrDuplicateKey), nesting
//     deeper than MaxDepth (ErrTooDeep) and invalid UTF-8 (ErrInvalidJSON;
//     encoding/json does not check UTF-8);
//   - the scanner gives the same error and the same spans as the recursive
//     reference scanner of refscan_test.go, in fields and in tokens mode,
//     whether or not it records bound paths (one per span).
func FuzzValidate(f *testing.F) {
	f.Add([]byte(body300), fields300)
	f.Add([]byte(`{"a":[1,{"b":"x"}],"c":"\u00e9","d":[]}`), "a.*.b,c,d,a")
	f.Add([]byte(`[{"a.b":null},{"a":{"b":true}},"qanapi:bm9uZQ:v1:AAAA:$"]`), `*.a\.b,*.a.b,*`)
	f.Add([]byte(`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,`+
		`"ka":10,"kb":11,"kc":12,"kd":13,"ke":14,"kf":15,"kg":16,"k\u0030":17}`), "k0,kg")
	f.Add([]byte(nested(33, "1")), "0.0.0")
	f.Fuzz(func(t *testing.T, doc []byte, fields string) {
		err := Validate(doc)
		want := json.Valid(doc) && utf8.Valid(doc)
		if err == nil && !want {
			t.Fatalf("Validate(%q) = nil, but encoding/json or utf8 refuses it", doc)
		}
		if err != nil && want && !errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrTooDeep) {
			t.Fatalf("Validate(%q) = %v, but encoding/json accepts it", doc, err)
		}
		fl, ferr := ParseFields(fields)
		if ferr != nil {
			fl = Fields{}
		}
		for mode := range 4 {
			tokens, bind := mode >= 2, mode%2 == 1
			if tokens {
				fl = Fields{}
			}
			var s scratch
			got := s.locate(doc, fl, tokens, bind)
			refSpans, ref := refLocate(doc, fl, tokens)
			if (got == ErrCaseVariantKey || got == ErrDottedKey) && ref == nil {
				// The reference predates ErrCaseVariantKey and ErrDottedKey, which the
				// scanner returns only for a document valid otherwise
				// (FuzzScanPrev checks it against the previous scanner).
				continue
			}
			if got != ref {
				t.Fatalf("locate(%q, %q, %v) = %v, reference scanner gives %v", doc, fields, tokens, got, ref)
			}
			if got != nil {
				continue
			}
			spans := make([]refSpan, len(s.sc.spans))
			for i, sp := range s.sc.spans {
				spans[i] = refSpan(sp)
			}
			if !slices.Equal(spans, refSpans) {
				t.Fatalf("locate(%q, %q, %v) spans = %v, reference scanner gives %v", doc, fields, tokens, spans, refSpans)
			}
			if bind && len(s.sc.pathEnds) != len(spans) {
				t.Fatalf("locate(%q, %q, %v) recorded %d paths for %d spans", doc, fields, tokens, len(s.sc.pathEnds), len(spans))
			}
		}
	})
}
