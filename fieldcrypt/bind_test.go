package fieldcrypt

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// sealedDoc encrypts doc with bind and returns each token string of the
// output, in order.
func sealedDoc(t *testing.T, p *Params, doc, fields string, bind bool) []string {
	t.Helper()
	q := *p
	q.BindFields = bind
	enc, err := Encrypt(nil, []byte(doc), mustFields(t, fields), &q)
	if err != nil {
		t.Fatalf("Encrypt(%s, %q) = %v", doc, fields, err)
	}
	return tokenRE.FindAllString(string(enc), -1)
}

// fill replaces the placeholders T0, T1, … of tmpl by the token strings.
func fill(tmpl string, toks []string) string {
	return regexp.MustCompile(`T[0-9]`).ReplaceAllStringFunc(tmpl, func(s string) string {
		return toks[s[1]-'0']
	})
}

// TestBindFields moves bound tokens around a document and decrypts them
// with a field list and with DecryptAll.
func TestBindFields(t *testing.T) {
	p := testParams(t)
	const doc = `{"ssn":"123-45-6789","note":"hi","items":[{"card":"4111"},{"card":"5500"}],"a.b":1,"a":{"b":2}}`
	toks := sealedDoc(t, p, doc, `ssn,items.*.card,a\.b,a.b`, true) // T0 ssn, T1 T2 cards, T3 a\.b, T4 a.b
	if len(toks) != 5 {
		t.Fatalf("Encrypt gave %d tokens, want 5", len(toks))
	}
	tests := []struct {
		name, doc, fields string
		want              error
	}{
		{"at its path", `{"ssn":T0}`, "ssn", nil},
		{"JSON-escaped key", `{"\u0073sn":T0}`, "ssn", nil},
		{"moved to another field", `{"note":T0}`, "note", ErrDecryptFailed},
		{"moved deeper", `{"x":{"ssn":T0}}`, "x.ssn", ErrDecryptFailed},
		{"moved into an array", `{"ssn":[T0]}`, "ssn", nil},
		{"moved to another index", `{"items":[{"card":T2},{"card":T1}]}`, "items.*.card", nil},
		{"moved to another element's field", `{"items":[{"card":T1,"cvc":T2}]}`, "items.*.card,items.*.cvc", ErrDecryptFailed},
		{"array flattened", `{"items":{"card":T1}}`, "items.card", nil},
		{"dotted key to nested key", `{"a":{"b":T3}}`, "a.b", ErrDecryptFailed},
		{"nested key to dotted key", `{"a.b":T4}`, `a\.b`, ErrDecryptFailed},
		{"both at their paths", `{"a.b":T3,"a":{"b":T4}}`, `a\.b,a.b`, nil},
		{"to the top level", `[T0]`, "*", ErrDecryptFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(fill(tt.doc, toks))
			for _, bind := range []bool{false, true} { // BindFields does not matter on decryption
				q := *p
				q.BindFields = bind
				_, err := Decrypt(nil, in, mustFields(t, tt.fields), &q)
				checkOpenErr(t, "Decrypt", in, err, tt.want)
				_, err = DecryptAll(nil, in, &q)
				checkOpenErr(t, "DecryptAll", in, err, tt.want)
			}
		})
	}
}

func checkOpenErr(t *testing.T, fn string, doc []byte, err, want error) {
	t.Helper()
	if err != want {
		t.Errorf("%s(%s) = %v, want %v (bare)", fn, doc, err, want)
	}
}

// TestBindFieldsUnbound checks that unbound tokens open anywhere, as before,
// whatever BindFields says.
func TestBindFieldsUnbound(t *testing.T) {
	p := testParams(t)
	toks := sealedDoc(t, p, `{"ssn":"123-45-6789","items":[{"card":"4111"}]}`, "ssn,items.*.card", false)
	for _, tmpl := range []string{`{"ssn":T0}`, `{"note":T0}`, `{"x":{"y":[T1]}}`, `T0`, `[T1]`} {
		in := []byte(fill(tmpl, toks))
		for _, bind := range []bool{false, true} {
			q := *p
			q.BindFields = bind
			if _, err := DecryptAll(nil, in, &q); err != nil {
				t.Errorf("DecryptAll(%s) with BindFields %v = %v, want nil", in, bind, err)
			}
		}
	}
	if _, _, err := OpenToken(nil, []byte(strings.Trim(toks[0], `"`)), p); err != nil {
		t.Errorf("OpenToken(unbound token of ssn) = %v, want nil", err)
	}
}

// TestBindFieldsMark checks that the bound mark cannot be added or removed.
func TestBindFieldsMark(t *testing.T) {
	p := testParams(t)
	bound := sealedDoc(t, p, `{"ssn":1}`, "ssn", true)[0]
	unbound := sealedDoc(t, p, `{"ssn":1}`, "ssn", false)[0]
	for _, tt := range []struct{ name, tok string }{
		{"mark removed", strings.Replace(bound, ":v1f:", ":v1:", 1)},
		{"mark added", strings.Replace(unbound, ":v1:", ":v1f:", 1)},
	} {
		in := []byte(`{"ssn":` + tt.tok + `}`)
		if !IsToken([]byte(strings.Trim(tt.tok, `"`))) {
			t.Fatalf("%s: %s is not a token", tt.name, tt.tok)
		}
		if _, err := Decrypt(nil, in, mustFields(t, "ssn"), p); err != ErrDecryptFailed {
			t.Errorf("%s: Decrypt(%s) = %v, want ErrDecryptFailed", tt.name, in, err)
		}
	}
}

// TestBindFieldsSealValue checks that SealValue binds the empty path.
func TestBindFieldsSealValue(t *testing.T) {
	p := testParams(t)
	p.BindFields = true
	tok := sealOne(t, `{"n":1}`, p)
	if !bytes.Contains(tok, []byte(":v1f:")) {
		t.Fatalf("SealValue with BindFields = %s, want a bound token", tok)
	}
	if plain, _, err := OpenToken(nil, tok, p); err != nil || string(plain) != `{"n":1}` {
		t.Errorf("OpenToken(%s) = %s, %v; want the value", tok, plain, err)
	}
	quoted := `"` + string(tok) + `"`
	for _, tt := range []struct {
		doc  string
		want error
	}{
		{quoted, nil},
		{`[` + quoted + `]`, nil},
		{`{"data":` + quoted + `}`, ErrDecryptFailed},
	} {
		if _, err := DecryptAll(nil, []byte(tt.doc), p); err != tt.want {
			t.Errorf("DecryptAll(%s) = %v, want %v", tt.doc, err, tt.want)
		}
	}
	field := sealedDoc(t, p, `{"data":1}`, "data", true)[0]
	if _, _, err := OpenToken(nil, []byte(strings.Trim(field, `"`)), p); !errors.Is(err, ErrDecryptFailed) {
		t.Errorf("OpenToken(token bound to data) = %v, want ErrDecryptFailed", err)
	}
}
