package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncryptDecrypt checks, for any document and field list, with bound
// or unbound tokens (bind): no panic; Encrypt accepts exactly what Validate
// accepts, which is what encoding/json accepts less duplicate keys, deep
// nesting and bad UTF-8; valid JSON in gives valid JSON out; bytes outside
// the named values are unchanged; every token is bound exactly when bind is
// set; Decrypt gives back the input byte for byte, and so does DecryptAll
// (which finds the bound paths again in tokens mode) when the input holds no
// token of its own.
func FuzzEncryptDecrypt(f *testing.F) {
	for _, bind := range []bool{false, true} {
		f.Add([]byte(body300), fields300, bind)
		f.Add([]byte(`{"a":[1,{"b":"x"}],"c":"\u00e9"}`), "a.*.b,c", bind)
		f.Add([]byte(`[{"a.b":null},{"a":{"b":true}}]`), `*.a\.b,*.a.b`, bind)
		f.Add([]byte(`{"items":[1,{"card":"x"}],"t":[]}`), "items.card,t.x", bind)
	}
	f.Add([]byte(`{"x\\.y":{"":[{"z":[1]}]},"\u0078":{"y":2}}`), `*.*`, true)
	f.Fuzz(func(t *testing.T, doc []byte, fields string, bind bool) {
		fl, err := ParseFields(fields)
		if err != nil {
			return
		}
		p := &Params{ProjectID: "fuzz", Keys: newTestKeyring(t, 1), Rand: detRand(9), BindFields: bind}
		enc, err := Encrypt(nil, doc, fl, p)
		if errors.Is(err, ErrCaseVariantKey) || errors.Is(err, ErrDottedKey) || errors.Is(err, ErrFieldInArray) {
			// Valid documents refused for what the field list meets in
			// them: TestCaseVariantKey and TestFieldInArray check those.
			if Validate(doc) != nil {
				t.Fatalf("Encrypt(%q) = %v, but the document does not validate", doc, err)
			}
			return
		}
		if verr := Validate(doc); (verr == nil) != (err == nil) {
			t.Fatalf("Encrypt(%q) = %v but Validate = %v", doc, err, verr)
		}
		if err != nil {
			if json.Valid(doc) && utf8.Valid(doc) && !errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("Encrypt(%q) = %v but encoding/json accepts it", doc, err)
			}
			return
		}
		if !json.Valid(doc) || !json.Valid(enc) {
			t.Fatalf("Encrypt(%q) = %q: input or output not valid JSON", doc, enc)
		}
		checkUntouched(t, doc, enc, fl, bind)
		dec, err := Decrypt(nil, enc, fl, p)
		if err != nil || !bytes.Equal(dec, doc) {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v; want the input", doc, dec, err)
		}
		var s scratch
		_ = s.locate(doc, Fields{}, true, false) // doc is valid
		if len(s.sc.spans) > 0 || isScalar(enc) {
			return // DecryptAll would open (or refuse) the input's own tokens, or refuse a scalar
		}
		if dec, err := DecryptAll(nil, enc, p); err != nil || !bytes.Equal(dec, doc) {
			t.Fatalf("DecryptAll(Encrypt(%q)) = %q, %v; want the input", doc, dec, err)
		}
	})
}

// checkUntouched checks that enc is doc with each target span replaced by a
// token string, bound if bind is set, and nothing else changed.
func checkUntouched(t *testing.T, doc, enc []byte, f Fields, bind bool) {
	var s scratch
	if err := s.locate(doc, f, false, false); err != nil {
		t.Fatal(err)
	}
	prev, rest := 0, enc
	for _, sp := range s.sc.spans {
		keep := doc[prev:sp.start]
		if !bytes.HasPrefix(rest, keep) {
			t.Fatalf("Encrypt(%q) = %q: bytes before offset %d changed", doc, enc, sp.start)
		}
		rest = rest[len(keep):]
		end := bytes.IndexByte(rest[1:], '"') + 2
		if end < 2 || !isTokenString(rest[:end]) {
			t.Fatalf("Encrypt(%q) = %q: no token at offset %d", doc, enc, sp.start)
		}
		if tp, _ := splitToken(rest[1 : end-1]); tp.bound != bind {
			t.Fatalf("Encrypt(%q) with BindFields %v = %q: token at offset %d bound = %v", doc, bind, enc, sp.start, tp.bound)
		}
		rest, prev = rest[end:], sp.end
	}
	if !bytes.Equal(rest, doc[prev:]) {
		t.Fatalf("Encrypt(%q) = %q: trailing bytes changed", doc, enc)
	}
}

// FuzzOpenToken checks that opening any byte string never panics and never
// succeeds unless it is exactly one of the sealed seed tokens.
func FuzzOpenToken(f *testing.F) {
	p := &Params{ProjectID: "fuzz", Classification: "pii", Keys: newTestKeyring(f, 2), Rand: detRand(7)}
	valid := map[string]string{}
	for i, raw := range []string{`"ssn"`, `42`, `{"a":[true,null]}`, `"bound"`, `[1]`} {
		q := *p
		q.BindFields = i >= 3 // bound to the empty path, which OpenToken gives
		tok, err := SealValue(nil, []byte(raw), &q)
		if err != nil {
			f.Fatal(err)
		}
		valid[string(tok)] = raw
		f.Add(tok)
	}
	f.Add([]byte("qanapi:bm9uZQ:v1:AAAA:$"))
	f.Fuzz(func(t *testing.T, tok []byte) {
		plain, cls, err := OpenToken(nil, tok, p)
		raw, isValid := valid[string(tok)]
		switch {
		case err == nil && (!isValid || string(plain) != raw || cls != "pii"):
			t.Fatalf("OpenToken(%q) = %q, %q; a mutated token opened", tok, plain, cls)
		case err != nil && isValid:
			t.Fatalf("OpenToken(%q) = %v; want the seed's plaintext", tok, err)
		case err != nil && err != ErrDecryptFailed && !errors.Is(err, ErrNotAToken) && !errors.Is(err, ErrClassificationMismatch):
			t.Fatalf("OpenToken(%q) = %v; want ErrDecryptFailed, ErrNotAToken or ErrClassificationMismatch", tok, err)
		case err != nil && !IsToken(tok) && !errors.Is(err, ErrNotAToken):
			t.Fatalf("OpenToken(%q) = %v but IsToken = false", tok, err)
		}
	})
}

// FuzzParseFields checks that parsing never panics and that canonical names
// parse back to the same paths.
func FuzzParseFields(f *testing.F) {
	for _, s := range []string{"a", " a , user.email ,items.*.card", `a\.b,\*,x\,y,p\\q`, "a..b", "1.0.*", `ssn\?,items.\-1,a.last\(),\{first}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseFields(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidFields) {
				t.Fatalf("ParseFields(%q) = %v, want ErrInvalidFields", s, err)
			}
			return
		}
		names := fl.Names()
		if len(names) == 0 || len(names) > MaxFields {
			t.Fatalf("ParseFields(%q) gave %d paths", s, len(names))
		}
		again, err := ParseFields(strings.Join(names, ","))
		if err != nil || strings.Join(again.Names(), "\x00") != strings.Join(names, "\x00") {
			t.Fatalf("ParseFields(Names of %q) = %q, %v; want %q", s, again.Names(), err, names)
		}
	})
}
