package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var tokenRE = regexp.MustCompile(`"qanapi:[A-Za-z0-9_-]+:v[0-9]+f?:[A-Za-z0-9_-]+:\$"`)

// boundRE matches the version field of a bound token.
var boundRE = regexp.MustCompile(`:v[0-9]+f:`)

// mask replaces every token string of doc by "T".
func mask(doc []byte) string { return tokenRE.ReplaceAllString(string(doc), `"T"`) }

// roundTrip encrypts doc (with bound tokens if bind), checks the masked
// output, decrypts and checks that the original bytes come back.
func roundTrip(t *testing.T, doc, fields, masked string, bind bool) {
	t.Helper()
	p := testParams(t)
	p.BindFields = bind
	f := mustFields(t, fields)
	enc, err := Encrypt(nil, []byte(doc), f, p)
	if err != nil {
		t.Fatalf("Encrypt(%s, %q) = %v", doc, fields, err)
	}
	if got := mask(enc); got != masked {
		t.Errorf("Encrypt(%s, %q) masked = %s, want %s", doc, fields, got, masked)
	}
	if tokens, bound := len(tokenRE.FindAll(enc, -1)), len(boundRE.FindAll(enc, -1)); bind && bound != tokens || !bind && bound != 0 {
		t.Errorf("Encrypt(%s, %q) with BindFields %v = %s: %d of %d tokens bound", doc, fields, bind, enc, bound, tokens)
	}
	if !json.Valid(enc) {
		t.Errorf("Encrypt(%s, %q) = %s, not valid JSON", doc, fields, enc)
	}
	dec, err := Decrypt(nil, enc, f, p)
	if err != nil {
		t.Fatalf("Decrypt(%s, %q) = %v", enc, fields, err)
	}
	if string(dec) != doc {
		t.Errorf("Decrypt(Encrypt(%s)) = %s, want the input", doc, dec)
	}
	if isScalar(enc) && !bytes.Contains(enc, []byte("qanapi:")) {
		return // DecryptAll refuses a scalar that is not a token
	}
	all, err := DecryptAll(nil, enc, p)
	if err != nil || string(all) != doc {
		t.Errorf("DecryptAll(Encrypt(%s)) = %s, %v; want the input", doc, all, err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct{ name, doc, fields, masked string }{
		{"string", `{"a":"x","b":"y"}`, "a", `{"a":"T","b":"y"}`},
		{"number", `{"a":-1.5e3}`, "a", `{"a":"T"}`},
		{"true false null", `{"t":true,"f":false,"n":null}`, "t,f,n", `{"t":"T","f":"T","n":"T"}`},
		{"object", `{"a":{"b":1,"c":[2]}}`, "a", `{"a":"T"}`},
		{"nested", `{"user":{"email":"e@x","name":"n"}}`, "user.email", `{"user":{"email":"T","name":"n"}}`},
		{"array elements", `{"a":[1,"s",{"k":2},[3],null]}`, "a", `{"a":["T","T","T","T","T"]}`},
		{"empty array", `{"a":[]}`, "a", `{"a":[]}`},
		{"escapes kept", `{"a":"q\"\\\/\u00e9\n"}`, "a", `{"a":"T"}`},
		{"unicode", `{"ключ":"値 😀","x":1}`, "ключ", `{"ключ":"T","x":1}`},
		{"escaped key matches", `{"\u00e9":1}`, "é", `{"\u00e9":"T"}`},
		{"empty string", `{"a":""}`, "a", `{"a":"T"}`},
		{"whitespace kept", "{ \"a\" :\t\"x\" ,\n \"b\" : [ 1 , 2 ] }", "a,b", "{ \"a\" :\t\"T\" ,\n \"b\" : [ \"T\" , \"T\" ] }"},
		{"wildcard object", `{"a":{"x":1,"y":2},"b":3}`, "a.*", `{"a":{"x":"T","y":"T"},"b":3}`},
		{"wildcard array", `{"items":[{"card":"1","id":1},{"card":"2"},{"id":3}]}`, "items.*.card", `{"items":[{"card":"T","id":1},{"card":"T"},{"id":3}]}`},
		{"index", `{"items":[{"c":1},{"c":2}]}`, "items.1.c", `{"items":[{"c":1},{"c":"T"}]}`},
		{"index is also a key", `{"m":{"0":1,"1":2}}`, "m.0", `{"m":{"0":"T","1":2}}`},
		{"root wildcard", `{"a":1,"b":{"c":2}}`, "*", `{"a":"T","b":"T"}`},
		{"dotted key and its nested spelling", `{"a.b":1,"a":{"b":2}}`, `a\.b`, `{"a.b":"T","a":{"b":"T"}}`},
		{"nested spelling alone", `{"a":{"b":2,"c":3}}`, `a\.b`, `{"a":{"b":"T","c":3}}`},
		{"nested spelling of two dotted keys", `{"x.y":{"p.q":1},"x":{"y":{"p":{"q":2}}}}`, `x\.y.p\.q`, `{"x.y":{"p.q":"T"},"x":{"y":{"p":{"q":"T"}}}}`},
		{"star key", `{"*":1,"x":2}`, `\*`, `{"*":"T","x":2}`},
		{"absent", `{"a":1}`, "b,a.c,x.y.z", `{"a":1}`},
		{"through scalar", `{"a":"s"}`, "a.b", `{"a":"s"}`},
		{"overlap outer wins", `{"a":{"b":1},"c":2}`, "a.b,a", `{"a":"T","c":2}`},
		{"overlap wildcard", `{"a":{"b":1}}`, "*.b,a,*", `{"a":"T"}`},
		{"overlap array", `{"a":[[1,2],3]}`, "a,a.0,a.*", `{"a":["T","T"]}`},
		{"top-level array", `[{"a":1},{"a":2}]`, "*.a", `[{"a":"T"},{"a":"T"}]`},
		{"scalar doc", `"x"`, "a", `"x"`},
		{"deep 32", nested(31, `{"a":1}`), strings.Repeat("*.", 31) + "a", nested(31, `{"a":"T"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.doc, tt.fields, tt.masked, false) })
		t.Run(tt.name+"/bound", func(t *testing.T) { roundTrip(t, tt.doc, tt.fields, tt.masked, true) })
	}
}

func TestEncryptCountsSeals(t *testing.T) {
	p := testParams(t)
	k := p.Keys.(*testKeyring)
	doc := []byte(`{"a":[1,2,3],"b":{"c":4},"d":5}`)
	if _, err := Encrypt(nil, doc, mustFields(t, "a,b.c,zz"), p); err != nil {
		t.Fatal(err)
	}
	if k.calls != 1 || k.sealed != 4 {
		t.Errorf("SealKey calls, values = %d, %d; want 1, 4", k.calls, k.sealed)
	}
	if _, err := Encrypt(nil, doc, mustFields(t, "zz"), p); err != nil {
		t.Fatal(err)
	}
	if k.calls != 1 {
		t.Errorf("Encrypt with nothing to seal called SealKey; calls = %d, want 1", k.calls)
	}
}

func TestEncryptAppendsToDst(t *testing.T) {
	p := testParams(t)
	dst := []byte("prefix:")
	out, err := Encrypt(dst, []byte(`{"a":1}`), mustFields(t, "a"), p)
	if err != nil || !bytes.HasPrefix(out, []byte("prefix:")) {
		t.Errorf("Encrypt(dst) = %q, %v; want prefix kept", out, err)
	}
	out, err = Encrypt(dst, []byte(`{"a":1,"a":2}`), mustFields(t, "a"), p)
	if !errors.Is(err, ErrDuplicateKey) || string(out) != "prefix:" {
		t.Errorf("Encrypt(duplicate) = %q, %v; want dst unchanged, ErrDuplicateKey", out, err)
	}
}

func TestEncryptInvalid(t *testing.T) {
	p := testParams(t)
	f := mustFields(t, "a")
	for _, tt := range []struct {
		doc  string
		want error
	}{
		{`{"a":1`, ErrInvalidJSON},
		{`{"a":1,"a":2}`, ErrDuplicateKey},
		{`{"b":1,"b":2,"a":3}`, ErrDuplicateKey},
		{`{"a":` + nested(32, "1") + `}`, ErrTooDeep},
		{`{"a":1} x`, ErrInvalidJSON},
	} {
		for name, fn := range map[string]func() ([]byte, error){
			"Encrypt":    func() ([]byte, error) { return Encrypt(nil, []byte(tt.doc), f, p) },
			"Decrypt":    func() ([]byte, error) { return Decrypt(nil, []byte(tt.doc), f, p) },
			"DecryptAll": func() ([]byte, error) { return DecryptAll(nil, []byte(tt.doc), p) },
			"SealValue":  func() ([]byte, error) { return SealValue(nil, []byte(tt.doc), p) },
		} {
			if out, err := fn(); !errors.Is(err, tt.want) || len(out) != 0 {
				t.Errorf("%s(%s) = %q, %v; want no output, %v", name, tt.doc, out, err, tt.want)
			}
		}
	}
}

func TestDecryptNotAToken(t *testing.T) {
	p := testParams(t)
	enc, err := Encrypt(nil, []byte(`{"a":1,"b":[2,3]}`), mustFields(t, "a,b"), p)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenRE.FindString(string(enc))
	for _, doc := range []string{
		`{"a":1}`, `{"a":"plain"}`, `{"a":{"x":` + tok + `}}`, `{"a":[` + tok + `,2]}`,
		`{"a":"qanapi:bm9uZQ:v1::$"}`, `{"a":"qanapi:bm9uZQ:v01:AAAA:$"}`,
	} {
		if out, err := Decrypt(nil, []byte(doc), mustFields(t, "a"), p); !errors.Is(err, ErrNotAToken) || out != nil {
			t.Errorf("Decrypt(%s) = %q, %v; want ErrNotAToken", doc, out, err)
		}
	}
	for _, doc := range []string{`1`, `"plain"`, `null`} {
		if _, err := DecryptAll(nil, []byte(doc), p); !errors.Is(err, ErrNotAToken) {
			t.Errorf("DecryptAll(%s) = %v, want ErrNotAToken", doc, err)
		}
	}
}

func TestDecryptAllLeavesOtherStrings(t *testing.T) {
	p := testParams(t)
	doc := `{"a":"x","b":{"c":[1,"y"]},"d":"qanapi:no"}`
	enc, err := Encrypt(nil, []byte(doc), mustFields(t, "a,b.c"), p)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecryptAll(nil, enc, p)
	if err != nil || string(dec) != doc {
		t.Errorf("DecryptAll(%s) = %s, %v; want %s", enc, dec, err, doc)
	}
	plain := `{"k":"v","n":[1,2]}`
	if out, err := DecryptAll(nil, []byte(plain), p); err != nil || string(out) != plain {
		t.Errorf("DecryptAll(%s) = %s, %v; want it unchanged", plain, out, err)
	}
}
