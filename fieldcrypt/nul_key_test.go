package fieldcrypt

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// cStringKeys reads doc's top-level members as a parser that keeps keys
// as C strings does (json-c): a key ends at its first NUL, and the last
// member of a name wins.
func cStringKeys(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.Token()
	out := map[string]any{}
	for dec.More() {
		k, _ := dec.Token()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		ck, _, _ := strings.Cut(k.(string), "\x00")
		out[ck] = v
	}
	return out
}

// TestNULKeyRefused: "title\u0000" is title to a C-string parser, so it
// is refused like any other spelling of a named field, and a planted
// "email_bidx\u0000" is replaced like any other spelling of the index.
func TestNULKeyRefused(t *testing.T) {
	for _, doc := range []string{
		`{"title\u0000":"SECRET"}`,
		`{"title":"decoy","title\u0000":"SECRET"}`,
		`{"title\u0000x":"SECRET"}`,
		`{"a":{"title\u0000":"SECRET"}}`,
	} {
		fields := "title"
		if strings.HasPrefix(doc, `{"a"`) {
			fields = "a.title"
		}
		out, err := Encrypt(nil, []byte(doc), mustFields(t, fields), testParams(t))
		if !errors.Is(err, ErrCaseVariantKey) {
			t.Errorf("Encrypt(%s, %s) = %s, %v; want ErrCaseVariantKey", doc, fields, out, err)
		}
	}
	// Other keys with a NUL pass untouched.
	doc := `{"title":"x","other\u0000":"y"}`
	out, err := Encrypt(nil, []byte(doc), mustFields(t, "title"), testParams(t))
	if err != nil || !strings.Contains(string(out), `"other\u0000":"y"`) {
		t.Errorf("Encrypt(%s) = %s, %v; want other\\u0000 left as it is", doc, out, err)
	}

	x, err := ParseIndex("email")
	if err != nil {
		t.Fatal(err)
	}
	doc = `{"email":"a@b.example","email_bidx\u0000":"FORGED"}`
	out, err = EncryptIndexed(nil, []byte(doc), mustFields(t, "email"), x, newTestIndexKeys("p"), testParams(t))
	if err == nil {
		if v := cStringKeys(t, out)["email_bidx"]; v == "FORGED" {
			t.Errorf("EncryptIndexed(%s) = %s: a C-string parser reads the planted email_bidx", doc, out)
		}
	}
	if !OldSibling("email_bidx\x00", "email_bidx") {
		t.Error(`OldSibling("email_bidx\x00", "email_bidx") = false, want true`)
	}
}
