package fieldcrypt

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testIndexKeys gives each field of a project the key sha256(project, 0,
// field): distinct per project and field, reproducible.
type testIndexKeys struct {
	project string
	mu      sync.Mutex
	keys    map[string]*IndexKey
	calls   int
}

func newTestIndexKeys(project string) *testIndexKeys {
	return &testIndexKeys{project: project, keys: map[string]*IndexKey{}}
}

func (k *testIndexKeys) IndexKey(field string) (*IndexKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if x := k.keys[field]; x != nil {
		return x, nil
	}
	sum := sha256.Sum256([]byte(k.project + "\x00" + field))
	x := NewIndexKey(sum[:])
	k.keys[field] = x
	return x, nil
}

// indexOf is the index of the JSON value raw under rule r with keys.
func indexOf(t testing.TB, keys IndexKeys, r IndexRule, raw string) string {
	t.Helper()
	x, err := IndexFromRules([]IndexRule{r})
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.IndexKey(x.KeyPath(0))
	if err != nil {
		t.Fatal(err)
	}
	out, null, err := AppendIndex(nil, key, r, []byte(raw))
	if err != nil || null {
		t.Fatalf("AppendIndex(%s, %s) = %q, %v, %v", r.Field, raw, out, null, err)
	}
	return string(out)
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		norm     Normalization
		in, want string
	}{
		{NormExact, " Ann@Example.COM ", " Ann@Example.COM "},
		{NormLower, " Ann@Example.COM ", " ann@example.com "},
		{NormLower, "ÉCOLE Straße İ", strings.ToLower("ÉCOLE Straße İ")},
		{NormLowerTrim, "\u00a0\t Ann@Example.COM \n\u2003", "ann@example.com"},
		{NormLowerTrim, "a b", "a b"},
		{NormLowerTrim, " \t", ""},
		{NormDigits, "+44 (0)20 7946-0958", "4402079460958"},
		{NormDigits, "4111 1111 1111 1111", "4111111111111111"},
		{NormDigits, "٣٤", ""}, // ASCII digits only
	}
	for _, tt := range tests {
		t.Run(tt.norm.String()+"/"+tt.in, func(t *testing.T) {
			if got := string(appendNormalized(nil, []byte(tt.in), tt.norm)); got != tt.want {
				t.Errorf("appendNormalized(%q, %v) = %q, want %q", tt.in, tt.norm, got, tt.want)
			}
		})
	}
}

func TestParseNormalization(t *testing.T) {
	for _, s := range []string{"exact", "LOWER", " lower_trim ", "digits", ""} {
		if _, err := ParseNormalization(s); err != nil {
			t.Errorf("ParseNormalization(%q) = %v", s, err)
		}
	}
	_, err := ParseNormalization("lowertrim")
	if !errors.Is(err, ErrInvalidIndex) || !strings.Contains(err.Error(), `"lowertrim"`) {
		t.Errorf("ParseNormalization(lowertrim) = %v, want ErrInvalidIndex naming it", err)
	}
}

func TestParseIndex(t *testing.T) {
	tests := []struct {
		in   string
		want []IndexRule // nil: refused
	}{
		{"email", []IndexRule{{Field: "email", Name: "email_bidx", Bytes: 16}}},
		{" email:lower_trim , user.phone:DIGITS", []IndexRule{
			{Field: "email", Normalize: NormLowerTrim, Name: "email_bidx", Bytes: 16},
			{Field: "user.phone", Normalize: NormDigits, Name: "phone_bidx", Bytes: 16}}},
		{"items.*.email:lower", []IndexRule{{Field: "items.*.email", Normalize: NormLower, Name: "email_bidx", Bytes: 16}}},
		{"a:b:exact", []IndexRule{{Field: "a:b", Name: "a:b_bidx", Bytes: 16}}},
		{"email:lowr", nil},
		{"", nil},
		{"items.*", nil},
		{"items.0", nil},
		{"email,email:lower", nil},
		{"a.email,b.email", nil}, // one sibling name for two fields
		{"email,email_bidx", nil},
		{"a.email,b.Email", nil}, // email_bidx and Email_bidx: one name to readers that fold case
		{"a.user_id,b.userId", nil},
		{"k,kBidx", nil}, // k's sibling k_bidx would be the key kBidx to converters of key styles
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			x, err := ParseIndex(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidIndex) {
					t.Errorf("ParseIndex(%q) = %v, want ErrInvalidIndex", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIndex(%q) = %v", tt.in, err)
			}
			got, _ := json.Marshal(x.Rules())
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Errorf("ParseIndex(%q) = %s, want %s", tt.in, got, want)
			}
		})
	}
}

func TestIndexFromRulesRefuses(t *testing.T) {
	for name, r := range map[string]IndexRule{
		"bytes too small": {Field: "a", Bytes: 3},
		"bytes too large": {Field: "a", Bytes: 33},
		"quote in name":   {Field: "a", Name: `a"b`},
		"name is the key": {Field: "a", Name: "a"},
		"bad norm":        {Field: "a", Normalize: 9},
	} {
		if _, err := IndexFromRules([]IndexRule{r}); !errors.Is(err, ErrInvalidIndex) {
			t.Errorf("IndexFromRules(%s: %+v) = %v, want ErrInvalidIndex", name, r, err)
		}
	}
}

// TestIndexNamesTwins: two rules whose siblings' names differ only in
// letter case or word separators are refused, unless stored before
// (StoredIndex keeps loading them).
func TestIndexNamesTwins(t *testing.T) {
	rules := []IndexRule{{Field: "a", Name: "x_bidx"}, {Field: "b", Name: "X-BIDX"}}
	if _, err := IndexFromRules(rules); !errors.Is(err, ErrInvalidIndex) {
		t.Errorf("IndexFromRules(x_bidx, X-BIDX) = %v, want ErrInvalidIndex", err)
	}
	if _, err := StoredIndex(rules); err != nil {
		t.Errorf("StoredIndex(x_bidx, X-BIDX) = %v, want it loaded", err)
	}
}

// TestIndexEquality: equal normalised values give equal indexes; another
// field, another project or another normalised value gives another.
func TestIndexEquality(t *testing.T) {
	a, b := newTestIndexKeys("proj_a"), newTestIndexKeys("proj_b")
	lower := IndexRule{Field: "email", Normalize: NormLowerTrim}
	base := indexOf(t, a, lower, `"ann@example.com"`)
	for _, v := range []string{`"Ann@Example.COM"`, `" ann@example.com\n"`, `"\u0041nn@example.com"`} {
		if got := indexOf(t, a, lower, v); got != base {
			t.Errorf("index(%s) = %s, want %s as for ann@example.com", v, got, base)
		}
	}
	for name, got := range map[string]string{
		"other value":   indexOf(t, a, lower, `"bob@example.com"`),
		"other field":   indexOf(t, a, IndexRule{Field: "contact.email", Normalize: NormLowerTrim}, `"ann@example.com"`),
		"other project": indexOf(t, b, lower, `"ann@example.com"`),
		"exact":         indexOf(t, a, IndexRule{Field: "email"}, `"Ann@Example.COM"`),
	} {
		if got == base {
			t.Errorf("%s: index = %s, the same as ann@example.com's", name, got)
		}
	}
	if got := indexOf(t, a, IndexRule{Field: "n", Normalize: NormDigits}, `"0123"`); got != indexOf(t, a, IndexRule{Field: "n", Normalize: NormDigits}, `123`) &&
		got != indexOf(t, a, IndexRule{Field: "n", Normalize: NormDigits}, `"0-1-2-3"`) {
		t.Errorf("digits: index of \"0123\" differs from \"0-1-2-3\"")
	}
	if n := len(base); n != 22 {
		t.Errorf("len(index) = %d, want 22 (16 bytes in base64url)", n)
	}
	if got := indexOf(t, a, IndexRule{Field: "email", Normalize: NormLowerTrim, Bytes: 8}, `"ann@example.com"`); len(got) != 11 {
		t.Errorf("8-byte index = %q, want 11 characters", got)
	}
}

func TestAppendIndexNullAndComposite(t *testing.T) {
	keys := newTestIndexKeys("p")
	k, _ := keys.IndexKey("email")
	if out, null, err := AppendIndex(nil, k, IndexRule{Field: "email"}, []byte(" null ")); err != nil || !null || len(out) != 0 {
		t.Errorf("AppendIndex(null) = %q, %v, %v; want no index, null", out, null, err)
	}
	for _, v := range []string{`{"a":1}`, `[1]`} {
		_, _, err := AppendIndex(nil, k, IndexRule{Field: "email"}, []byte(v))
		var ie *IndexError
		if !errors.As(err, &ie) || ie.Field != "email" || !errors.Is(err, ErrIndexNotScalar) {
			t.Errorf("AppendIndex(%s) = %v, want IndexError(email, ErrIndexNotScalar)", v, err)
		}
	}
}

// TestIndexKeyPathKeepsItsSpelling: a key with brackets (or a * inside
// it, a lone $ or #, a leading /) is spelt with escapes in canonical names
// since those notations are refused unescaped, but its blind-index key is
// still derived from the spelling it had before, so that stored indexes
// keep matching.
func TestIndexKeyPathKeepsItsSpelling(t *testing.T) {
	for _, tc := range []struct{ index, fields, field, keyPath, doc string }{
		{`user\[email\]`, `user\[email\]`, `user\[email\]`, "user[email]", `{"user[email]":"a"}`},
		{`a\*b`, `a\*b`, `a\*b`, "a*b", `{"a*b":"a"}`},
		{"$ref.id", "$ref.id", "$ref.id", "$ref.id", `{"$ref":{"id":"a"}}`},
		{`tax\.id`, `tax\.id`, `tax\.id`, `tax\.id`, `{"tax.id":"a"}`},
	} {
		x, err := ParseIndex(tc.index)
		if err != nil {
			t.Fatalf("ParseIndex(%q) = %v", tc.index, err)
		}
		if got := x.Rules()[0].Field; got != tc.field || x.KeyPath(0) != tc.keyPath {
			t.Errorf("ParseIndex(%q): field %q, key path %q; want %q, %q", tc.index, got, x.KeyPath(0), tc.field, tc.keyPath)
		}
		keys := newTestIndexKeys("proj_1")
		if _, err := EncryptIndexed(nil, []byte(tc.doc), mustFields(t, tc.fields), x, keys, testParams(t)); err != nil {
			t.Fatalf("EncryptIndexed(%s) = %v", tc.doc, err)
		}
		if _, ok := keys.keys[tc.keyPath]; !ok || len(keys.keys) != 1 {
			t.Errorf("%s: keys asked for %v, want only %q", tc.index, slices.Collect(maps.Keys(keys.keys)), tc.keyPath)
		}
	} // A route's rule stored before brackets needed escapes reads as it
	// did, to the same key; new input in that notation is refused.
	x, err := StoredIndex([]IndexRule{{Field: "user[email]"}})
	if err != nil || x.KeyPath(0) != "user[email]" || x.Rules()[0].Field != `user\[email\]` {
		t.Errorf("StoredIndex(user[email]) = %v, key path %q; want it read as a key", err, x.KeyPath(0))
	}
	if _, err := ParseIndex("user[email]"); !errors.Is(err, ErrInvalidIndex) {
		t.Errorf("ParseIndex(user[email]) = %v, want ErrInvalidIndex", err)
	}
}

func TestEncryptIndexed(t *testing.T) {
	keys := newTestIndexKeys("proj_1")
	I := func(field, norm, raw string) string {
		n, _ := ParseNormalization(norm)
		return `"` + indexOf(t, keys, IndexRule{Field: field, Normalize: n}, raw) + `"`
	}
	ann := I("email", "lower", `"Ann@Example.com"`)
	tests := []struct {
		name, doc, fields, index, want string
	}{
		{"sibling added", `{"email":"Ann@Example.com","x":1}`, "email", "email:lower",
			`{"email":"T","email_bidx":` + ann + `,"x":1}`},
		{"sibling after replaced", `{"email":"ann@example.com", "email_bidx" : "old" ,"x":1}`, "email", "email:lower",
			`{"email":"T","email_bidx":` + ann + `, "x":1}`}, // the old member goes with the comma after it
		{"sibling last replaced", `{"x":1,"email":"ANN@example.com","email_bidx":"old"}`, "email", "email:lower",
			`{"x":1,"email":"T","email_bidx":` + ann + `}`},
		{"sibling first replaced", `{"email_bidx":"old", "email":"ann@example.com"}`, "email", "email:lower",
			`{"email":"T","email_bidx":` + ann + `}`},
		{"case variants replaced", `{"EMAIL_BIDX":1,"Email_Bidx":2,"a":3,"email\u005fbidx":[4],"email":"ann@example.com"}`, "email", "email:lower",
			`{"a":3,"email":"T","email_bidx":` + ann + `}`},
		{"sibling first then kept", `{"email_bidx":{"x":[1]},"a":1,"email":"ann@example.com"}`, "email", "email:lower",
			`{"a":1,"email":"T","email_bidx":` + ann + `}`},
		{"escaped value", `{"email":"\u0041nn@example.com"}`, "email", "email:lower",
			`{"email":"T","email_bidx":` + ann + `}`},
		{"null", `{"email":null,"email_bidx":"old"}`, "email", "email",
			`{"email":"T","email_bidx":null}`},
		// With no indexed value in the body, the other fields are
		// sealed all the same (they once went through in clear).
		{"indexed field absent", `{"ssn":"1","n":2}`, "ssn,email", "email", `{"ssn":"T","n":2}`},
		{"absent: siblings left alone", `{"email_bidx":"keep","x":{"email_bidx":1}}`, "email", "email",
			`{"email_bidx":"keep","x":{"email_bidx":1}}`},
		{"number and bool", `{"n":4111,"b":true}`, "n,b", "n:digits,b",
			`{"n":"T","n_bidx":` + I("n", "digits", "4111") + `,"b":"T","b_bidx":` + I("b", "exact", "true") + `}`},
		{"array elements", `{"items":[{"email":"a"},{"email":"b","email_bidx":null},{"x":1},2]}`, "items.*.email", "items.*.email",
			`{"items":[{"email":"T","email_bidx":` + I("items.*.email", "", `"a"`) + `},{"email":"T","email_bidx":` + I("items.*.email", "", `"b"`) + `},{"x":1},2]}`},
		{"nested and more fields", `{"user":{"email":"x","name":"n"},"card":"1"}`, "user.email,card", "user.email",
			`{"user":{"email":"T","email_bidx":` + I("user.email", "", `"x"`) + `,"name":"n"},"card":"T"}`},
		// Old siblings of two rules side by side (this once cut the
		// document out of range and panicked): one range each run.
		{"two old siblings first", `{"phone_bidx":"x","email_bidx":"y","email":"a","phone":"p"}`, "email,phone", "email,phone",
			`{"email":"T","email_bidx":` + I("email", "", `"a"`) + `,"phone":"T","phone_bidx":` + I("phone", "", `"p"`) + `}`},
		{"two old siblings last", `{"email":"a","phone":"p","email_bidx":"x", "phone_bidx":"y"}`, "email,phone", "email,phone",
			`{"email":"T","email_bidx":` + I("email", "", `"a"`) + `,"phone":"T","phone_bidx":` + I("phone", "", `"p"`) + `}`},
		{"old siblings interleaved", `{"email_bidx":"x","email":"a","phone_bidx":"y","phone":"p","q":1}`, "email,phone", "email,phone",
			`{"email":"T","email_bidx":` + I("email", "", `"a"`) + `,"phone":"T","phone_bidx":` + I("phone", "", `"p"`) + `,"q":1}`},
		// Keys that fold to the name in Unicode (ſ is s, K is k) are
		// replaced too: decoders that match keys without regard to case
		// would read a planted one as the index.
		{"unicode fold of the name replaced", `{"ssn":"1","ſsn_bidx":"evil","ssn_bIdx":"evil2"}`, "ssn", "ssn",
			`{"ssn":"T","ssn_bidx":` + I("ssn", "", `"1"`) + `}`},
		{"kelvin sign", `{"k":"1","\u212a_bidx":"evil"}`, "k", "k",
			`{"k":"T","k_bidx":` + I("k", "", `"1"`) + `}`},
		// A key with dots that spells the sibling's path from an object
		// above goes too once an index is written: stores that expand
		// dots would give the sibling a second, planted value.
		{"sibling spelt with dots", `{"u":{"k":"1"},"u.k_bidx":"planted","U.K-BIDX":2,"x":{"u.k_bidx":3}}`, "u.k", "u.k",
			`{"u":{"k":"T","k_bidx":` + I("u.k", "", `"1"`) + `},"x":{"u.k_bidx":3}}`},
		{"sibling spelt with dots, two levels", `{"a.b.c_bidx":0,"a":{"b.c_bidx":1,"b":{"c":"1"}}}`, "a.b.c", "a.b.c",
			`{"a":{"b":{"c":"T","c_bidx":` + I("a.b.c", "", `"1"`) + `}}}`},
		{"sibling spelt with dots, no value: left", `{"u":{"x":"1"},"u.k_bidx":"keep"}`, "u.k", "u.k",
			`{"u":{"x":"1"},"u.k_bidx":"keep"}`},
		// And with other word separators: stores that convert key styles
		// (camelCase, kebab-case) read them as the index.
		{"name with other separators", `{"emailBidx":"evil","email":"1","EMAIL-BIDX":"evil2","email__bidx":3}`, "email", "email",
			`{"email":"T","email_bidx":` + I("email", "", `"1"`) + `}`},
		// And a name in another Unicode normalisation (Swift reads it as
		// the index).
		{"I and U+0307 in the name", "{\"id\":\"1\",\"I\u0307D_BIDX\":\"evil\"}", "id", "id",
			`{"id":"T","id_bidx":` + I("id", "", `"1"`) + `}`},
		{"decomposed name", "{\"caf\u00e9\":\"1\",\"cafe\u0301_bidx\":\"evil\",\"CAFE\u0301_BIDX\":\"evil\"}", "caf\u00e9", "caf\u00e9",
			"{\"caf\u00e9\":\"T\",\"caf\u00e9_bidx\":" + I("caf\u00e9", "", `"1"`) + "}"},
		// A path that names a dotted key is sealed where it is nested
		// too (Fields.add), and indexed there, from the same key.
		{"dotted key", `{"profile.email":"ann@example.com"}`, `profile\.email`, `profile\.email:lower`,
			`{"profile.email":"T","profile.email_bidx":` + I(`profile\.email`, "lower", `"Ann@Example.com"`) + `}`},
		{"dotted key nested", `{"profile":{"email":"Ann@Example.com","x":1}}`, `profile\.email`, `profile\.email:lower`,
			`{"profile":{"email":"T","email_bidx":` + I(`profile\.email`, "lower", `"Ann@Example.com"`) + `,"x":1}}`},
		{"dotted key both spellings, planted sibling replaced", `{"profile.email":"a","profile":{"EMAIL_BIDX":"evil","email":"b"}}`, `profile\.email`, `profile\.email`,
			`{"profile.email":"T","profile.email_bidx":` + I(`profile\.email`, "", `"a"`) + `,"profile":{"email":"T","email_bidx":` + I(`profile\.email`, "", `"b"`) + `}}`},
		{"two dots, every spelling", `{"a":{"b.c":"1"},"a.b":{"c":"2"},"a.b.c":"3","x":{"a":{"b":{"c":"4"}}}}`, `a\.b\.c,x.a\.b\.c`, `a\.b\.c`,
			`{"a":{"b.c":"T","b.c_bidx":` + I(`a\.b\.c`, "", `"1"`) + `},"a.b":{"c":"T","c_bidx":` + I(`a\.b\.c`, "", `"2"`) + `},"a.b.c":"T","a.b.c_bidx":` + I(`a\.b\.c`, "", `"3"`) +
				`,"x":{"a":{"b":{"c":"T"}}}}`},
		// A planted sibling at another spelling's place goes too once an
		// index is written (stores that expand dots would hold both at
		// one path); with no value anywhere, and under a *, it stays.
		{"planted sibling at the nested place", `{"profile.email":"a","profile":{"email_bidx":"planted","x":1}}`, `profile\.email`, `profile\.email`,
			`{"profile.email":"T","profile.email_bidx":` + I(`profile\.email`, "", `"a"`) + `,"profile":{"x":1}}`},
		{"planted sibling at the dotted place", `{"profile":{"email":"b"},"profile.email_bidx":"planted"}`, `profile\.email`, `profile\.email`,
			`{"profile":{"email":"T","email_bidx":` + I(`profile\.email`, "", `"b"`) + `}}`},
		{"no value: planted siblings left alone", `{"profile":{"email_bidx":"keep"},"profile.email_bidx":"keep"}`, `profile\.email`, `profile\.email`,
			`{"profile":{"email_bidx":"keep"},"profile.email_bidx":"keep"}`},
		{"under a *, other records left alone", `{"items":[{"a.b":"1"},{"a":{"b_bidx":"keep"}}]}`, `items.*.a\.b`, `items.*.a\.b`,
			`{"items":[{"a.b":"T","a.b_bidx":` + I(`items.*.a\.b`, "", `"1"`) + `},{"a":{"b_bidx":"keep"}}]}`},
		{"sibling encrypted by a wildcard is dropped", `{"u":{"email":"x","email_bidx":"old"}}`, "u.*,u.email", "u.email",
			`{"u":{"email":"T","email_bidx":` + I("u.email", "", `"x"`) + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams(t)
			x, err := ParseIndex(tt.index)
			if err != nil {
				t.Fatal(err)
			}
			f := mustFields(t, tt.fields)
			out, err := EncryptIndexed([]byte("pre"), []byte(tt.doc), f, x, keys, p)
			if err != nil {
				t.Fatalf("EncryptIndexed(%s) = %v", tt.doc, err)
			}
			if got := mask(out[3:]); got != tt.want {
				t.Errorf("EncryptIndexed(%s) =\n %s\nwant\n %s", tt.doc, got, tt.want)
			}
			if err := Validate(out[3:]); err != nil {
				t.Errorf("EncryptIndexed(%s) = %s: %v", tt.doc, out[3:], err)
			}
			if want := strings.Count(tt.want, `"T"`); p.Values != want {
				t.Errorf("Values = %d, want %d", p.Values, want)
			}
		})
	}
}

// TestIndexSpellingRules: the spellings of a dotted-key rule are not
// rules of their own (Len, Rules), take the rule's sibling name when it
// has one, and are refused when their sibling would clash with a key or
// another rule's sibling in the same object.
func TestIndexSpellingRules(t *testing.T) {
	x, err := IndexFromRules([]IndexRule{{Field: `profile\.email`, Name: "pe"}, {Field: "id"}})
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 2 || len(x.Rules()) != 2 || x.Rules()[0].Name != "pe" {
		t.Fatalf("Len() = %d, Rules() = %+v; want the two rules given", x.Len(), x.Rules())
	}
	keys := newTestIndexKeys("proj_1")
	out, err := EncryptIndexed(nil, []byte(`{"profile":{"email":"a"},"id":1}`), mustFields(t, `profile\.email,id`), x, keys, testParams(t))
	want := `{"profile":{"email":"T","pe":"` + indexOf(t, keys, IndexRule{Field: `profile\.email`}, `"a"`) + `"},"id":"T","id_bidx":"` + indexOf(t, keys, IndexRule{Field: "id"}, "1") + `"}`
	if err != nil || mask(out) != want {
		t.Fatalf("EncryptIndexed = %s, %v; want %s", mask(out), err, want)
	}
	// Rules() read back give the same index (a route's merge does it).
	again, err := IndexFromRules(x.Rules())
	if err != nil || len(again.rules) != len(x.rules) || again.rules[2].name != "pe" {
		t.Fatalf("IndexFromRules(Rules()) = %+v, %v", again.rules, err)
	}
	d, _ := IndexFromRules([]IndexRule{{Field: `profile\.email`}})
	if again, _ := IndexFromRules(d.Rules()); again.rules[1].name != "email_bidx" {
		t.Errorf("the default name read back: nested sibling %q, want email_bidx", again.rules[1].name)
	}
	// Siblings of one name in objects that cannot be one are fine.
	for _, rules := range [][]IndexRule{
		{{Field: "email"}, {Field: `profile\.email`}}, // email_bidx at the top and in profile
		{{Field: `billing\.email`}, {Field: `shipping\.email`}},
		{{Field: "id"}, {Field: `user\.id`}},
		{{Field: `a\.b\.c`}, {Field: `a\.b.c`}},
	} {
		if _, err := IndexFromRules(rules); err != nil {
			t.Errorf("IndexFromRules(%+v) = %v, want nil", rules, err)
		}
	}
	for _, rules := range [][]IndexRule{
		{{Field: `a\.b`, Name: "b"}},                      // beside b, named b
		{{Field: `a\.b`}, {Field: "a.c", Name: "b_bidx"}}, // two b_bidx in a
		{{Field: `a\.b`, Name: "c"}, {Field: "a.c"}},      // a sibling named as a key indexed in a
	} {
		if _, err := IndexFromRules(rules); !errors.Is(err, ErrInvalidIndex) {
			t.Errorf("IndexFromRules(%+v) = %v, want ErrInvalidIndex", rules, err)
		}
	}
}

func TestEncryptIndexedRefuses(t *testing.T) {
	keys := newTestIndexKeys("proj_1")
	tests := []struct {
		name, doc, fields, index string
		want                     error
		field                    string
	}{
		{"object", `{"email":{"a":"secret"}}`, "email", "email", ErrIndexNotScalar, "email"},
		{"array", `{"u":{"email":["secret"]}}`, "u.email", "u.email", ErrIndexNotScalar, "u.email"},
		{"inside an outer value", `{"u":{"email":"secret"}}`, "u,u.email", "u.email", ErrIndexNotEncrypted, "u.email"},
		{"not encrypted", `{"email":"secret"}`, "name", "email", ErrInvalidIndex, ""},
		{"invalid JSON", `{"email":"secret",}`, "email", "email", ErrInvalidJSON, ""},
		{"nested spelling inside an outer value", `{"a":{"b.c":"secret"}}`, `a\.b\.c,a`, `a\.b\.c`, ErrIndexNotEncrypted, `a.b\.c`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ParseIndex(tt.index)
			if err != nil {
				t.Fatal(err)
			}
			out, err := EncryptIndexed([]byte("pre"), []byte(tt.doc), mustFields(t, tt.fields), x, keys, testParams(t))
			if !errors.Is(err, tt.want) || string(out) != "pre" {
				t.Fatalf("EncryptIndexed(%s) = %q, %v; want dst unchanged, %v", tt.doc, out, err, tt.want)
			}
			var ie *IndexError
			if tt.field != "" && (!errors.As(err, &ie) || ie.Field != tt.field) {
				t.Errorf("EncryptIndexed(%s) = %v, want an IndexError naming %s", tt.doc, err, tt.field)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("EncryptIndexed(%s) = %v: the error holds the value", tt.doc, err)
			}
			// The check without keys refuses it the same way.
			if cerr := CheckEncryptIndexed([]byte(tt.doc), mustFields(t, tt.fields), x); !errors.Is(cerr, tt.want) {
				t.Errorf("CheckEncryptIndexed(%s) = %v, want %v", tt.doc, cerr, tt.want)
			}
		})
	}
	x, _ := ParseIndex("email")
	if err := CheckEncryptIndexed([]byte(`{"email":"a","n":{"email":[1]}}`), mustFields(t, "email"), x); err != nil {
		t.Errorf("CheckEncryptIndexed of a body EncryptIndexed takes = %v", err)
	}
}

// TestEncryptIndexedDecrypts: the sealed values open again and the index
// sits beside them.
func TestEncryptIndexedDecrypts(t *testing.T) {
	keys := newTestIndexKeys("proj_1")
	p := testParams(t)
	f := mustFields(t, fields300)
	x, _ := ParseIndex("user.email:lower_trim")
	enc, err := EncryptIndexed(nil, []byte(body300), f, x, keys, p)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := Decrypt(nil, enc, f, p)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(body300, `"ada@example.com",`, `"ada@example.com","email_bidx":`+
		`"`+indexOf(t, keys, IndexRule{Field: "user.email", Normalize: NormLowerTrim}, `"ada@example.com"`)+`",`, 1)
	if string(dec) != want {
		t.Errorf("Decrypt(EncryptIndexed(body300)) = %s, want %s", dec, want)
	}
	if keys.calls != 2 { // one here, one in indexOf
		t.Errorf("IndexKey calls = %d, want one per rule", keys.calls)
	}
}

// TestIndexOverwrites: fields to encrypt that name the member an index is
// written to are refused with the index, before anything is written:
// EncryptIndexed would replace their value with the index.
func TestIndexOverwrites(t *testing.T) {
	keys := newTestIndexKeys("proj_1")
	p := testParams(t)
	tests := []struct {
		fields, index string
		field, at     string // the conflict reported; "" for none
	}{
		{"ssn,ssn_bidx", "ssn", "ssn_bidx", "ssn_bidx"},
		{"ssn,ssnBidx", "ssn", "ssnBidx", "ssn_bidx"},
		{"ssn,SSN-BIDX", "ssn", "SSN-BIDX", "ssn_bidx"},
		{"u.k,u.k_bidx", "u.k", "u.k_bidx", "u.k_bidx"},
		{"u.k,*.k_bidx", "u.k", "*.k_bidx", "u.k_bidx"},
		{"items.*.k,items.0.k_bidx", "items.*.k", "items.0.k_bidx", "items.*.k_bidx"},
		{`u.k,u\.k_bidx`, "u.k", `u\.k_bidx`, "u.k_bidx"},                                                    // a store that expands dots reads it there
		{`profile\.email,profile.email_bidx`, `profile\.email`, "profile.email_bidx", `profile\.email_bidx`}, // the nested spelling's sibling
		{"ssn,ssn_bidx2", "ssn", "", ""},
		{"u.k,v.k_bidx", "u.k", "", ""},
		{"u.k,u.*", "u.k", "", ""}, // a * names the object's members, the index's among them: replaced
		{"u.k,k_bidx", "u.k", "", ""},
		// In another normalisation: the name's letters decomposed.
		{"caf\u00e9,cafe\u0301_bidx", "caf\u00e9", "cafe\u0301_bidx", "caf\u00e9_bidx"},
		{"caf\u00e9,CAFE\u0301_BIDX", "caf\u00e9", "CAFE\u0301_BIDX", "caf\u00e9_bidx"},
		{"caf\u00e9,cafe\u0301_bidy", "caf\u00e9", "", ""},
	}
	for _, tt := range tests {
		x, err := ParseIndex(tt.index)
		if err != nil {
			t.Fatal(err)
		}
		f := mustFields(t, tt.fields)
		e := x.Overwrites(f)
		doc := []byte(`{"ssn":"1","u":{"k":"2"}}`)
		_, encErr := EncryptIndexed(nil, doc, f, x, keys, p)
		checkErr := CheckEncryptIndexed(doc, f, x)
		if tt.field == "" {
			if e != nil || encErr != nil || checkErr != nil {
				t.Errorf("fields %s, index %s: Overwrites = %v, EncryptIndexed = %v, CheckEncryptIndexed = %v; want none", tt.fields, tt.index, e, encErr, checkErr)
			}
			continue
		}
		if e == nil || e.Field != tt.field || e.Sibling != tt.at {
			t.Errorf("fields %s, index %s: Overwrites = %+v, want %s at %s", tt.fields, tt.index, e, tt.field, tt.at)
		}
		var oe *OverwriteError
		if !errors.As(encErr, &oe) || !errors.Is(encErr, ErrInvalidIndex) || !errors.As(checkErr, &oe) {
			t.Errorf("fields %s, index %s: EncryptIndexed = %v, CheckEncryptIndexed = %v; want an OverwriteError", tt.fields, tt.index, encErr, checkErr)
		}
	}
}
