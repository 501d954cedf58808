package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzReveal checks, for any document and field list, with bound or unbound
// tokens (bind) and with or without a mask (masked):
//   - Reveal fails exactly when Validate does (no limits are set), or for
//     a key that differs from a named one only in letter case, and then
//     returns dst unchanged;
//   - Reveal of the document itself gives valid JSON, and the document
//     byte for byte when it holds no token;
//   - Reveal of Encrypt's output opens every sealed value, leaves none,
//     gives back the input byte for byte without a mask, and valid JSON
//     with one;
//   - under another project every sealed value stays and is counted, and
//     the output is Encrypt's, byte for byte.
func FuzzReveal(f *testing.F) {
	for _, bind := range []bool{false, true} {
		f.Add([]byte(body300), fields300, bind, false)
		f.Add([]byte(body300), fields300, bind, true)
		f.Add([]byte(`[{"title":"a","body":"\u00e9\"\\"},{"title":3},{"title":{"x":[null]}}]`), "*.title,*.body", bind, true)
		f.Add([]byte(`{"a":["qanapi:bm9uZQ:v1:AAAA:$",1,"x"],"b":"\ud83d"}`), "a,b", bind, true)
		f.Add([]byte("{\"cafe\u0301\":\"x\"}"), "caf\u00e9", bind, false)
	}
	f.Fuzz(func(t *testing.T, doc []byte, fields string, bind, masked bool) {
		fl, err := ParseFields(fields)
		if err != nil {
			return
		}
		p := &Params{ProjectID: "fuzz", Keys: newTestKeyring(t, 1), Rand: detRand(3), BindFields: bind}
		var o RevealOptions
		if masked {
			o.Mask = &Mask{ShowFirst: 1, ShowLast: 2, Char: '•'}
		}
		out, counts, err := Reveal([]byte("prefix"), doc, fl, p, o)
		if errors.Is(err, ErrCaseVariantKey) {
			// Refused in every mode for what the field list meets in the
			// document (TestCaseVariantKey), which must be valid.
			if Validate(doc) != nil {
				t.Fatalf("Reveal(%q) = %v, but the document does not validate", doc, err)
			}
			return
		}
		if verr := Validate(doc); (verr == nil) != (err == nil) {
			t.Fatalf("Reveal(%q) = %v but Validate = %v", doc, err, verr)
		}
		if err != nil {
			if string(out) != "prefix" || counts != (RevealCounts{}) {
				t.Fatalf("Reveal(%q) failed with %v but returned %q, %+v", doc, err, out, counts)
			}
			return
		}
		if out = out[len("prefix"):]; !json.Valid(out) {
			t.Fatalf("Reveal(%q) = %q, not valid JSON", doc, out)
		}
		var s scratch
		_ = s.locate(doc, Fields{}, true, false) // doc is valid
		if len(s.sc.spans) == 0 && (!bytes.Equal(out, doc) || counts != RevealCounts{}) {
			t.Fatalf("Reveal(%q) with no token = %q, %+v; want the input, no counts", doc, out, counts)
		}

		enc, err := Encrypt(nil, doc, fl, p)
		if errors.Is(err, ErrDottedKey) || errors.Is(err, ErrFieldInArray) {
			return // what only encrypting refuses (TestDottedKey, TestFieldInArray)
		}
		if err != nil {
			t.Fatalf("Encrypt(%q) = %v after Reveal accepted it", doc, err)
		}
		_ = s.locate(doc, fl, false, false)
		sealed := len(s.sc.spans)
		out, counts, err = Reveal(nil, enc, fl, p, o)
		switch {
		case err != nil || counts != RevealCounts{Opened: sealed}:
			t.Fatalf("Reveal(Encrypt(%q)) = %v, %+v; want nil, %d opened", doc, err, counts, sealed)
		case !masked && !bytes.Equal(out, doc):
			t.Fatalf("Reveal(Encrypt(%q)) = %q, want the input", doc, out)
		case masked && !json.Valid(out):
			t.Fatalf("Reveal(Encrypt(%q)) masked = %q, not valid JSON", doc, out)
		}

		other := *p
		other.ProjectID = "other"
		out, counts, err = Reveal(nil, enc, fl, &other, o)
		if err != nil || !bytes.Equal(out, enc) || counts != (RevealCounts{Untransformed: sealed}) {
			t.Fatalf("Reveal(Encrypt(%q)) for another project = %q, %+v, %v; want Encrypt's output, %d untransformed",
				doc, out, counts, err, sealed)
		}
	})
}
