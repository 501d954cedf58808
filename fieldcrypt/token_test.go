package fieldcrypt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sealOne returns the token of raw under p.
func sealOne(t *testing.T, raw string, p *Params) []byte {
	t.Helper()
	tok, err := SealValue(nil, []byte(raw), p)
	if err != nil {
		t.Fatalf("SealValue(%s) = %v", raw, err)
	}
	return tok
}

func TestSealValueOpenToken(t *testing.T) {
	p := testParams(t)
	for _, raw := range []string{`1`, `"s"`, `""`, `null`, `{"a":[1,{"b":"\u00e9"}]}`, ` [true] `} {
		tok := sealOne(t, raw, p)
		if !IsToken(tok) {
			t.Errorf("IsToken(SealValue(%s)) = false for %s", raw, tok)
		}
		plain, cls, err := OpenToken([]byte("x"), tok, p)
		if want := "x" + strings.TrimSpace(raw); err != nil || string(plain) != want || cls != "none" {
			t.Errorf("OpenToken(%s) = %s, %q, %v; want %s, none, nil", tok, plain, cls, err, want)
		}
	}
}

func TestTokenSyntax(t *testing.T) {
	tests := []struct {
		tok  string
		want bool
	}{
		{"qanapi:bm9uZQ:v1:AAAA:$", true},
		{"qanapi:bm9uZQ:v1f:AAAA:$", true},
		{"qanapi:bm9uZQ:v4294967295:AAAA:$", true},
		{"qanapi:bm9uZQ:v4294967295f:AAAA:$", true},
		{"qanapi:bm9uZQ:v4294967296f:AAAA:$", false},
		{"qanapi:bm9uZQ:v1ff:AAAA:$", false},
		{"qanapi:bm9uZQ:v1F:AAAA:$", false},
		{"qanapi:bm9uZQ:vf:AAAA:$", false},
		{"qanapi:bm9uZQ:v0f:AAAA:$", false},
		{"qanapi:bm9uZQ:f:AAAA:$", false},
		{"qanapi:bm9uZQ:v1f1:AAAA:$", false},
		{"qanapi:bm9uZQ:fv1:AAAA:$", false},
		{"qanapi:bm9uZQ:v4294967296:AAAA:$", false},
		{"qanapi:bm9uZQ:v0:AAAA:$", false},
		{"qanapi:bm9uZQ:v01:AAAA:$", false},
		{"qanapi:bm9uZQ:v:AAAA:$", false},
		{"qanapi:bm9uZQ:1:AAAA:$", false},
		{"qanapi::v1:AAAA:$", false},
		{"qanapi:bm9uZQ:v1::$", false},
		{"qanapi:bm9u=ZQ:v1:AAAA:$", false},
		{"qanapi:bm9uZQ:v1:AA+A:$", false},
		{"qanapi:bm9uZQ:v1:AA:AA:$", false},
		{"qanapi:bm9uZQ:v1:AAAA:", false},
		{"Qanapi:bm9uZQ:v1:AAAA:$", false},
		{"qanapi:$", false},
		{"qanapi::$", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsToken([]byte(tt.tok)); got != tt.want {
			t.Errorf("IsToken(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
}

func TestTokenBinding(t *testing.T) {
	keys := newTestKeyring(t, 2)
	p := &Params{ProjectID: "proj_1", Classification: "pii", Keys: keys, Rand: detRand(2)}
	tok := sealOne(t, `"secret"`, p)
	tests := []struct {
		name string
		tok  []byte
		p    Params
		want error
	}{
		{"other project", tok, Params{ProjectID: "proj_2", Keys: keys}, ErrDecryptFailed},
		{"project prefix", tok, Params{ProjectID: "proj_", Keys: keys}, ErrDecryptFailed},
		{"classification mismatch", tok, Params{ProjectID: "proj_1", Classification: "pci", Keys: keys}, ErrClassificationMismatch},
		{"relabelled", relabel(tok, "pii", "pci"), Params{ProjectID: "proj_1", Keys: keys}, ErrDecryptFailed},
		{"relabelled none", relabel(tok, "pii", "none"), Params{ProjectID: "proj_1", Keys: keys}, ErrDecryptFailed},
		{"other version", bytes.Replace(tok, []byte(":v2:"), []byte(":v1:"), 1), Params{ProjectID: "proj_1", Keys: keys}, ErrDecryptFailed},
		{"unknown version", bytes.Replace(tok, []byte(":v2:"), []byte(":v9:"), 1), Params{ProjectID: "proj_1", Keys: keys}, ErrDecryptFailed},
		{"ok", tok, Params{ProjectID: "proj_1", Classification: "pii", Keys: keys}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := OpenToken(nil, tt.tok, &tt.p)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("OpenToken(%s) = %v, want %v", tt.tok, err, tt.want)
			}
			if tt.want == ErrDecryptFailed && err != ErrDecryptFailed {
				t.Errorf("OpenToken error %q carries detail, want the bare ErrDecryptFailed", err)
			}
		})
	}
}

// relabel swaps the classification segment of a token.
func relabel(tok []byte, from, to string) []byte {
	return bytes.Replace(tok, b64.AppendEncode(nil, []byte(from)), b64.AppendEncode(nil, []byte(to)), 1)
}

func TestAllow(t *testing.T) {
	keys := newTestKeyring(t, 1)
	seal := &Params{ProjectID: "p", Classification: "pii", Keys: keys, Rand: detRand(3)}
	enc, err := Encrypt(nil, []byte(`{"a":1,"b":2}`), mustFields(t, "a,b"), seal)
	if err != nil {
		t.Fatal(err)
	}
	denied := errors.New("denied")
	var seen []string
	p := &Params{ProjectID: "p", Keys: keys, Allow: func(cls string) error {
		seen = append(seen, cls)
		return nil
	}}
	if _, err := Decrypt(nil, enc, mustFields(t, "a,b"), p); err != nil || strings.Join(seen, ",") != "pii,pii" {
		t.Errorf("Decrypt with Allow saw %q, %v; want [pii pii], nil", seen, err)
	}
	p.Allow = func(string) error { return denied }
	if out, err := Decrypt(nil, enc, mustFields(t, "a"), p); err != denied || out != nil {
		t.Errorf("Decrypt with denying Allow = %q, %v; want nil, the Allow error as is", out, err)
	}
	if _, err := DecryptAll(nil, enc, p); err != denied {
		t.Errorf("DecryptAll with denying Allow = %v, want the Allow error as is", err)
	}
}

// TestTokenMutations flips every bit of every byte of a token, bound or
// not, and cuts it at every length: opening must fail with ErrNotAToken or
// ErrDecryptFailed.
func TestTokenMutations(t *testing.T) {
	for _, bind := range []bool{false, true} {
		p := testParams(t)
		p.Keys = newTestKeyring(t, 12)
		p.BindFields = bind
		tok := sealOne(t, `{"card":"4111 1111 1111 1111"}`, p)
		check := func(m []byte) {
			t.Helper()
			plain, _, err := OpenToken(nil, m, p)
			if err == nil {
				t.Fatalf("OpenToken(%s) = %s, want an error", m, plain)
			}
			if err != ErrDecryptFailed && !errors.Is(err, ErrNotAToken) {
				t.Fatalf("OpenToken(%s) = %v, want ErrDecryptFailed or ErrNotAToken", m, err)
			}
			doc := append(append([]byte(`{"a":"`), m...), `"}`...)
			if Validate(doc) == nil {
				if _, err := Decrypt(nil, doc, mustFields(t, "a"), p); err != ErrDecryptFailed && !errors.Is(err, ErrNotAToken) {
					t.Fatalf("Decrypt(%s) = %v, want ErrDecryptFailed or ErrNotAToken", doc, err)
				}
			}
		}
		for i := range tok {
			for bit := range 8 {
				m := bytes.Clone(tok)
				m[i] ^= 1 << bit
				check(m)
			}
		}
		for n := range len(tok) {
			check(tok[:n])
			check(tok[len(tok)-n:])
		}
	}
}
