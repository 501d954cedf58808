package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzEncryptIndexed checks, for any document, field list and index list:
// no panic; a document Validate refuses is refused; the output is valid
// JSON with no duplicate keys (Validate), so an old sibling is never left
// beside the new one; the sealed values decrypt again (unless a wildcard
// of the field list also names a new sibling, which is no token). Seeds are in testdata/fuzz/FuzzEncryptIndexed.
func FuzzEncryptIndexed(f *testing.F) {
	f.Add([]byte(body300), fields300, "user.email:lower_trim")
	f.Add([]byte(`{"email_bidx":1,"email":"A","EMAIL_BIDX":2}`), "email", "email:lower")
	f.Add([]byte(`{"items":[{"e":"x","e_bidx":null},{"e":null}]}`), "items.*.e", "items.*.e:digits")
	// Old siblings of several rules in one object (once a panic).
	f.Add([]byte(`{"phone_bidx":"x","email_bidx":"y","email":"a","phone":"p"}`), "email,phone", "email,phone")
	f.Add([]byte(`{"a":"1","b_bidx":2,"b":"3","a_bidx":4,"c":5, "c_bidx" : 6}`), "a,b,c", "a,b:digits,c")
	f.Add([]byte(`{"ssn":"1","ſsn_bidx":"evil"}`), "ssn", "ssn")
	f.Add([]byte(`{"p.e":"1","p":{"e":"2","E_bidx":3},"p.e_bidx":4}`), `p\.e`, `p\.e`)
	f.Add([]byte(`{"ssn":"123-45-6789","n":1}`), "ssn,email", "email") // no indexed value: ssn sealed all the same
	f.Fuzz(func(t *testing.T, doc []byte, fields, index string) {
		fl, err := ParseFields(fields)
		if err != nil {
			return
		}
		x, err := ParseIndex(index)
		if err != nil {
			return
		}
		p := &Params{ProjectID: "fuzz", Keys: newTestKeyring(t, 1), Rand: detRand(3)}
		out, err := EncryptIndexed(nil, doc, fl, x, newTestIndexKeys("fuzz"), p)
		if verr := Validate(doc); verr != nil {
			if err == nil {
				t.Fatalf("EncryptIndexed(%q) accepted a document Validate refuses: %v", doc, verr)
			}
			return
		}
		var ie *IndexError
		switch {
		case errors.Is(err, ErrInvalidIndex) || errors.As(err, &ie):
			return
		case errors.Is(err, ErrFieldInArray) || errors.Is(err, ErrCaseVariantKey) || errors.Is(err, ErrDottedKey):
			return // refused for what the list meets in a valid document (limits_test.go)
		case err != nil:
			t.Fatalf("EncryptIndexed(%q, %q, %q) = %v", doc, fields, index, err)
		}
		if err := Validate(out); err != nil || !json.Valid(out) {
			t.Fatalf("EncryptIndexed(%q, %q, %q) = %q: %v", doc, fields, index, out, err)
		}
		// It seals what Encrypt seals: only a value inside an old sibling
		// it deletes may go, which needs a path through a key named as
		// an index, or a *.
		q := &Params{ProjectID: "fuzz", Keys: p.Keys, Rand: detRand(3)}
		if _, err := Encrypt(nil, doc, fl, q); err == nil && q.Values != p.Values && !mayDeleteSealed(fields, x) {
			t.Fatalf("EncryptIndexed(%q, %q, %q) sealed %d values, Encrypt %d", doc, fields, index, p.Values, q.Values)
		}
		dec, err := Decrypt(nil, out, fl, p)
		if err != nil && !errors.Is(err, ErrNotAToken) { // a wildcard may name a new sibling
			t.Fatalf("Decrypt(EncryptIndexed(%q)) = %v", doc, err)
		}
		if err == nil && bytes.Equal(doc, out) && !bytes.Equal(doc, dec) {
			t.Fatalf("Decrypt(%q) changed an untouched document", out)
		}
	})
}

// mayDeleteSealed reports whether a field list may name a value inside an
// old index sibling that EncryptIndexed deletes: it has a *, or spells a
// sibling's name in any letter case.
func mayDeleteSealed(fields string, x Index) bool {
	if strings.Contains(fields, "*") {
		return true
	}
	for _, r := range x.rules {
		if strings.Contains(strings.ToLower(fields), strings.ToLower(r.name)) {
			return true
		}
	}
	return !isASCII([]byte(fields)) // folds beyond ASCII (ſ, K) are not worth spelling out here
}

// FuzzParseIndex checks the X-Qanapi-Index parser: no panic; a list it
// accepts gives rules that IndexFromRules accepts again unchanged, with
// every default filled in.
func FuzzParseIndex(f *testing.F) {
	for _, s := range []string{"email", "email:lower_trim, user.phone:DIGITS", "items.*.e:lower", `a\,b:exact`, "a:b:exact", "x:", ":lower"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := ParseIndex(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidIndex) {
				t.Fatalf("ParseIndex(%q) = %v, want ErrInvalidIndex", s, err)
			}
			return
		}
		rules := x.Rules()
		y, err := IndexFromRules(rules)
		if err != nil {
			t.Fatalf("IndexFromRules(ParseIndex(%q).Rules()) = %v", s, err)
		}
		for i, r := range y.Rules() {
			if r != rules[i] || r.Name == "" || r.Bytes != DefaultIndexBytes {
				t.Fatalf("ParseIndex(%q) rule %d = %+v, again %+v", s, i, rules[i], r)
			}
		}
	})
}
