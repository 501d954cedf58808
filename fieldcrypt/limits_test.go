package fieldcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// limitsDoc has 3 values to seal under limitsFields: 2 array elements and
// one nested value.
const (
	limitsDoc    = `{"a":[0,"x"],"b":{"c":true},"d":1}`
	limitsFields = "a,b.c"
)

// TestEncryptLimits runs Encrypt at MaxValues and MaxOutput, one under, and
// with the special values, for unbound and bound tokens and for key
// versions of one and two digits (the output size is first checked with a
// one-digit version, before the Keyring is asked, then exactly).
func TestEncryptLimits(t *testing.T) {
	for _, bind := range []bool{false, true} {
		for _, version := range []uint32{1, 12} {
			p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(t, version), Rand: detRand(1), BindFields: bind}
			full, err := Encrypt(nil, []byte(limitsDoc), mustFields(t, limitsFields), p)
			if err != nil {
				t.Fatal(err)
			}
			n := len(full)
			tests := []struct {
				name                 string
				maxValues, maxOutput int
				want                 error
			}{
				{"no limits", 0, 0, nil},
				{"values at the limit", 3, 0, nil},
				{"values one over", 2, 0, ErrTooManyValues},
				{"values negative", -1, 0, ErrTooManyValues},
				{"output at the limit", 0, n, nil},
				{"output one over", 0, n - 1, ErrOutputTooLarge},
				{"output far over", 0, len(limitsDoc), ErrOutputTooLarge},
				{"output negative", 0, -1, ErrOutputTooLarge},
				{"both at the limit", 3, n, nil},
			}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("bind=%v/v%d/%s", bind, version, tt.name), func(t *testing.T) {
					keys := newTestKeyring(t, version)
					q := *p
					q.Keys, q.Rand, q.MaxValues, q.MaxOutput = keys, detRand(1), tt.maxValues, tt.maxOutput
					dst := []byte("prefix") // not counted in the output
					out, err := Encrypt(dst, []byte(limitsDoc), mustFields(t, limitsFields), &q)
					if !errors.Is(err, tt.want) {
						t.Fatalf("Encrypt(MaxValues %d, MaxOutput %d, bind %v, v%d) = %v, want %v",
							tt.maxValues, tt.maxOutput, bind, version, err, tt.want)
					}
					if tt.want != nil {
						if string(out) != "prefix" {
							t.Errorf("Encrypt failed but returned %q, want dst unchanged", out)
						}
						// Only a size that a one-digit version could meet reaches the Keyring.
						if asked := keys.calls > 0; asked != (tt.want == ErrOutputTooLarge && version >= 10 && tt.maxOutput == n-1) {
							t.Errorf("Encrypt failed with %v; Keyring asked = %v", tt.want, asked)
						}
						return
					}
					if !bytes.Equal(out[len("prefix"):], full) {
						t.Errorf("Encrypt with limits = %s, want %s", out[len("prefix"):], full)
					}
				})
			}
		}
	}
}

// TestDecryptLimits runs Decrypt and DecryptAll at MaxValues and MaxOutput,
// and one under. Nothing is opened when there are too many values.
func TestDecryptLimits(t *testing.T) {
	for _, bind := range []bool{false, true} {
		p := testParams(t)
		p.BindFields = bind
		enc, err := Encrypt(nil, []byte(limitsDoc), mustFields(t, limitsFields), p)
		if err != nil {
			t.Fatal(err)
		}
		n := len(limitsDoc)
		tests := []struct {
			name                 string
			maxValues, maxOutput int
			want                 error
		}{
			{"no limits", 0, 0, nil},
			{"values at the limit", 3, 0, nil},
			{"values one over", 2, 0, ErrTooManyValues},
			{"values negative", -1, 0, ErrTooManyValues},
			{"output at the limit", 0, n, nil},
			{"output one over", 0, n - 1, ErrOutputTooLarge},
			{"output far over", 0, 5, ErrOutputTooLarge},
			{"output negative", 0, -1, ErrOutputTooLarge},
		}
		decrypts := map[string]func([]byte, *Params) ([]byte, error){
			"Decrypt": func(dst []byte, q *Params) ([]byte, error) {
				return Decrypt(dst, enc, mustFields(t, limitsFields), q)
			},
			"DecryptAll": func(dst []byte, q *Params) ([]byte, error) { return DecryptAll(dst, enc, q) },
		}
		for _, tt := range tests {
			for name, decrypt := range decrypts {
				t.Run(fmt.Sprintf("bind=%v/%s/%s", bind, name, tt.name), func(t *testing.T) {
					opened := 0
					q := *p
					q.MaxValues, q.MaxOutput = tt.maxValues, tt.maxOutput
					q.Allow = func(string) error { opened++; return nil }
					out, err := decrypt([]byte("prefix"), &q)
					if !errors.Is(err, tt.want) {
						t.Fatalf("%s(MaxValues %d, MaxOutput %d, bind %v) = %v, want %v",
							name, tt.maxValues, tt.maxOutput, bind, err, tt.want)
					}
					switch {
					case tt.want != nil && string(out) != "prefix":
						t.Errorf("%s failed but returned %q, want dst unchanged", name, out)
					case tt.want == ErrTooManyValues && opened != 0:
						t.Errorf("%s failed with ErrTooManyValues after opening %d tokens, want 0", name, opened)
					case tt.want == nil && string(out) != "prefix"+limitsDoc:
						t.Errorf("%s = %s, want prefix%s", name, out, limitsDoc)
					}
				})
			}
		}
	}
}

// TestValueLimits runs SealValue and OpenToken at their limits: one value,
// and an output of exactly the token or the plaintext.
func TestValueLimits(t *testing.T) {
	const raw = `{"n":[1,2,3]}`
	p := testParams(t)
	tok := sealOne(t, raw, p)
	for _, tt := range []struct {
		name                 string
		maxValues, maxOutput int
		sealErr, openErr     error
	}{
		{"no limits", 0, 0, nil, nil},
		{"one value", 1, 0, nil, nil},
		{"values negative", -1, 0, ErrTooManyValues, ErrTooManyValues},
		{"output at the plaintext", 0, len(raw), ErrOutputTooLarge, nil},
		{"output one under the plaintext", 0, len(raw) - 1, ErrOutputTooLarge, ErrOutputTooLarge},
		{"output at the token", 0, len(tok), nil, nil},
		{"output one under the token", 0, len(tok) - 1, ErrOutputTooLarge, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := *p
			q.Rand, q.MaxValues, q.MaxOutput = detRand(1), tt.maxValues, tt.maxOutput
			out, err := SealValue([]byte("x"), []byte(raw), &q)
			if !errors.Is(err, tt.sealErr) || (err != nil) != (string(out) == "x") {
				t.Errorf("SealValue(MaxValues %d, MaxOutput %d) = %q, %v; want %v", tt.maxValues, tt.maxOutput, out, err, tt.sealErr)
			}
			plain, _, err := OpenToken([]byte("x"), tok, &q)
			if !errors.Is(err, tt.openErr) || (err == nil) != (string(plain) == "x"+raw) {
				t.Errorf("OpenToken(MaxValues %d, MaxOutput %d) = %q, %v; want %v", tt.maxValues, tt.maxOutput, plain, err, tt.openErr)
			}
		})
	}
}

// TestAmplification is the review's case: a 1 MiB array of zeros under an
// encrypted field would come out 30 times larger. With MaxOutput or
// MaxValues set, Encrypt refuses it before asking the Keyring for a key.
func TestAmplification(t *testing.T) {
	doc := []byte(`{"a":[0` + strings.Repeat(",0", 1<<19-1) + `]}`)
	for _, tt := range []struct {
		name string
		p    Params
		want error
	}{
		{"MaxOutput 2 MiB", Params{MaxOutput: 2 << 20}, ErrOutputTooLarge},
		{"MaxValues 10000", Params{MaxValues: 10000}, ErrTooManyValues},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := newTestKeyring(t, 1)
			q := tt.p
			q.ProjectID, q.Keys = "proj_1", keys
			out, err := Encrypt(nil, doc, mustFields(t, "a"), &q)
			if !errors.Is(err, tt.want) || out != nil || keys.calls != 0 {
				t.Errorf("Encrypt(1 MiB of zeros) = %d bytes, %v, %d SealKey calls; want nothing, %v, 0 calls",
					len(out), err, keys.calls, tt.want)
			}
		})
	}
}

// TestCaseVariantKey: a key that equals a named field but for letter case
// is refused (Go's encoding/json would read "TITLE" as the title field),
// while other keys and exact names pass.
func TestCaseVariantKey(t *testing.T) {
	p := testParams(t)
	cases := []struct {
		doc, fields string
		refused     bool
	}{
		{`{"title":"x","TITLE":"secret"}`, "title", true},
		{`{"Title":"secret"}`, "title", true},
		{`{"user":{"EMAIL":"a@b"}}`, "user.email", true},
		{`{"items":[{"Card":"4111"}]}`, "items.*.card", true},
		{`{"title":"x","titles":"y"}`, "title", false},
		{`{"other":{"TITLE":"y"}}`, "title", false},
		{`{"title":"x"}`, "title", false},
		// Unicode letters some decoders read as ASCII ones: Go's
		// encoding/json folds "ſ" (U+017F) to s and the Kelvin sign
		// (U+212A) to k; .NET's OrdinalIgnoreCase upper-cases "ı" to I.
		{`{"ssn":"x","\u017f\u017fn":"secret"}`, "ssn", true},
		{"{\"\u017fsn\":\"secret\"}", "ssn", true},
		{`{"\u212aind":"secret"}`, "kind", true},
		{`{"\u0131d":"secret"}`, "id", true},
		{`{"user":{"\u212a":"secret"}}`, "user.k", true},
		{`{"caf\u00e9":"x","CAF\u00c9":"secret"}`, "café", true},
		{`{"caf\u00e9":"x"}`, "café", false},
		{`{"s\u00dfn":"x"}`, "ssn", false}, // ß is not s
		{`{"\u017fsnx":"x"}`, "ssn", false},
	}
	for _, tc := range cases {
		checkRefused(t, p, tc.doc, tc.fields, ErrCaseVariantKey, tc.refused)
	}
}

// TestCanonicalVariantKey: a key that is a named field's in another
// Unicode normalisation (decomposed "e" and U+0301 for a composed "é")
// is refused as a case variant is: Swift compares strings, and so its
// JSON decoders' keys, by canonical equivalence, and would read it as the
// field, in plaintext. Written either way in the field list, escaped or
// not in the body; other keys pass, and so does the named spelling.
func TestCanonicalVariantKey(t *testing.T) {
	p := testParams(t)
	const composed, decomposed = "caf\u00e9", "cafe\u0301"
	cases := []struct {
		doc, fields string
		refused     bool
	}{
		{`{"` + decomposed + `":"secret"}`, "caf\u00e9", true},
		{`{"cafe\u0301":"secret"}`, "caf\u00e9", true}, // escaped in the JSON
		{`{"` + composed + `":"x","` + decomposed + `":"secret"}`, "caf\u00e9", true},
		{"{\"caf\u00e9\":\"secret\"}", "cafe\u0301", true},
		{`{"user":{"` + decomposed + `":"secret"}}`, "user.caf\u00e9", true},
		{`{"items":[{"` + decomposed + `":"secret"}]}`, "items.*.caf\u00e9", true},
		{`{"\u212b":"secret"}`, "\u00c5", true},        // the Angstrom sign is Å
		{`{"CAFE\u0301":"secret"}`, "caf\u00e9", true}, // and letter case
		{`{"CAF\u00c9":"secret"}`, "cafe\u0301", true},
		// Capitals with no precomposed form: equal only once decomposed,
		// as a matcher that folds case and compares canonically finds.
		{`{"\u03aa\u0301":"secret"}`, "\u0390", true},
		{`{"\u0399\u0308\u0301":"secret"}`, "\u0390", true},
		{`{"\u03ab\u0301":"secret"}`, "\u03b0", true},
		{`{"J\u030c":"secret"}`, "\u01f0", true},
		{`{"H\u0331":"secret"}`, "\u1e96", true},
		{`{"TA\u03aa\u0301ZO":"secret"}`, "ta\u0390zo", true},
		{`{"I\u0307d":"secret"}`, "id", true}, // composed, İ lower-cases to i
		{`{"emaI\u0307l":"secret"}`, "email", true},
		{`{"` + composed + `":"x"}`, "caf\u00e9", false},
		{`{"` + decomposed + `":"x"}`, "cafe\u0301", false},
		{`{"cafe":"x","caf\u00e8":"y"}`, "caf\u00e9", false},
		{`{"other":{"` + decomposed + `":"y"}}`, "caf\u00e9", false},
	}
	for _, tc := range cases {
		checkVariantBothWays(t, p, tc.doc, tc.fields, tc.refused)
	}
}

// TestSeparatorVariantKey: a key that is a named one with other word
// separators, or none, in any letter case, is refused both ways, as
// converters of key styles (Swift's .convertFromSnakeCase, Rails
// middleware that underscores keys, humps) read the two as one.
func TestSeparatorVariantKey(t *testing.T) {
	p := testParams(t)
	for _, tc := range []struct {
		doc, fields string
		refused     bool
	}{
		{`{"userSsn":"secret"}`, "user_ssn", true},
		{`{"user_ssn":"x","userSsn":"secret"}`, "user_ssn", true},
		{`{"USER-SSN":"secret"}`, "user_ssn", true},
		{`{"user__ssn":"secret"}`, "user_ssn", true},
		{`{"user ssn":"secret"}`, "userSsn", true},
		{`{"user_ssn":"secret"}`, "userSsn", true},
		{`{"_ssn":"secret"}`, "ssn", true},
		{`{"ssn_":"secret"}`, "ssn", true},
		{`{"user":{"Ss-N":"secret"}}`, "user.ssn", true},
		{`{"items":[{"cardNumber":"secret"}]}`, "items.*.card_number", true},
		{`{"user_ſsn":"secret"}`, "userSsn", true},     // and Unicode folding
		{`{"straßeNr":"secret"}`, "STRASSE_nr", false}, // ß is not ss (full folding is not covered)
		{`{"straßeNr":"secret"}`, "straße_nr", true},
		{`{"user_ssn":"x","user_name":"y","username":"z"}`, "user_ssn", false},
		{`{"user_ss":"x","ssn_hash":"y","s":"z"}`, "user_ssn,ssn", false},
		{`{"user":{"ssn":"x"},"user_ssn":"y"}`, "user.ssn", false}, // another depth
		// JavaScript's white space (humps) and a dot inside the key
		// (camelcase-keys) separate words too; a dot at either end is a
		// dotted key's business (TestDottedKey).
		{`{"user\tssn":"secret"}`, "user_ssn", true},
		{`{"user\nssn":"secret"}`, "user_ssn", true},
		{`{"user\u00a0ssn":"secret"}`, "user_ssn", true},
		{"{\"user\u3000ssn\":\"secret\"}", "user_ssn", true},
		{`{"user.ssn":"secret"}`, "user_ssn", true},
		{`{".ssn":"x"}`, "s_sn", false},
		// With another normalisation as well (Swift compares keys
		// canonically after converting them).
		{`{"caFe\u0301":"secret"}`, "ca_f\u00e9", true},
		{`{"ca_fe\u0301":"secret"}`, "caf\u00e9", true},
		{`{"CAFE\u0301_":"secret"}`, "caf\u00e9", true},
	} {
		checkVariantBothWays(t, p, tc.doc, tc.fields, tc.refused)
	}
}

// TestCanonicalVariantCost: each key is decomposed at most once, without
// allocating, however many named paths it is compared with: a body of
// thousands of decomposed keys under 64 non-ASCII paths allocates nothing
// once the scratch buffers have grown (an attacker review had it take 1.5 s
// and 1.8 million allocations for 256 KiB, decomposing once per path).
func TestCanonicalVariantCost(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	var names []string
	for i := range MaxFields {
		names = append(names, fmt.Sprintf("caf\u00e9%d", i))
	}
	f, err := FieldsFromList(names)
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&doc, `"e\u0301e\u0301e\u0301%d":1,"\u00e9t\u00e9%d":2,`, i, i)
	}
	doc.WriteString(`"x":0}`)
	body := []byte(doc.String())
	p := testParams(t)
	dst := make([]byte, 0, 2*len(body))
	if _, err := Encrypt(dst, body, f, p); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { Encrypt(dst[:0], body, f, p) }); n > 0 {
		t.Errorf("Encrypt of 4,000 non-ASCII keys under %d paths allocates %v times, want none", MaxFields, n)
	}
}

// checkVariantBothWays checks that Encrypt and Reveal refuse doc with
// fields as ErrCaseVariantKey when refused, and Encrypt accepts it
// otherwise.
func checkVariantBothWays(t *testing.T, p *Params, doc, fields string, refused bool) {
	t.Helper()
	checkRefused(t, p, doc, fields, ErrCaseVariantKey, refused)
	f, err := ParseFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Reveal(nil, []byte(doc), f, p, RevealOptions{}); errors.Is(err, ErrCaseVariantKey) != refused {
		t.Errorf("Reveal(%s, %s) = %v, want refused %v", doc, fields, err, refused)
	}
}

// checkRefused checks that Encrypt refuses doc with fields for want when
// refused, and accepts it otherwise.
func checkRefused(t *testing.T, p *Params, doc, fields string, want error, refused bool) {
	t.Helper()
	f, err := ParseFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Encrypt(nil, []byte(doc), f, p)
	if got := errors.Is(err, want); got != refused || !refused && err != nil {
		t.Errorf("Encrypt(%s, %s) = %v, want refused (%v) %v", doc, fields, err, want, refused)
	}
}

// TestDottedKey: a key with dots that spells a named path from where it
// stands, or the whole path and more, is refused (MongoDB's $set and
// Elasticsearch expand it into that path); other dotted keys pass, and a
// path that names a dotted key (a\.b) matches it as before.
func TestDottedKey(t *testing.T) {
	p := testParams(t)
	cases := []struct {
		doc, fields string
		refused     bool
	}{
		{`{"profile.email":"secret"}`, "profile.email", true},
		{`{"profile":{"email":"x"},"profile.email":"secret"}`, "profile.email", true},
		{`{"Profile.EMAIL":"secret"}`, "profile.email", true},
		// Pieces with other separators or letters folded: a Rails app
		// that underscores keys, then a MongoDB update.
		{`{"profile.taxId":"secret"}`, "profile.tax_id", true},
		{`{"profile.tax-id":"secret"}`, "profile.tax_id", true},
		{`{"userSsn.x":"secret"}`, "user_ssn.x", true},
		{`{"u_ser.ssn":"secret"}`, "user.ssn", true},
		{`{"u\u017fer.ssn":"secret"}`, "user.ssn", true},
		{`{"ssn.":"secret"}`, "s_sn", true},
		{`{"profile.taxes":"x","profiles.tax_id":"y"}`, "profile.tax_id", false},
		{`{"profile":{"a.b":"secret"}}`, "profile.a.b.c", true},
		{`{"a.b.c":"secret"}`, "a.b.c", true},
		{`{"a.b":{"c":"secret"}}`, "a.b.c", true},
		{`{"email.x":"secret"}`, "email", true},
		{`{"profile.email.x":"secret"}`, "profile.email", true},
		{`{"users.5.email":"secret"}`, "users.*.email", true},
		{`{"items.0.card":"secret"}`, "items.0.card", true},
		{`{"profile.email":"secret"}`, "profile.email", true},
		{`{"profile.name":"x"}`, "profile.email", false},
		{`{"emailx.y":"x",".email":"x","email":"y"}`, "email", false},
		{`{"email.":"x"}`, "email", true}, // Elasticsearch and lodash: {"email": {"": …}}
		{`{"profile.":"x"}`, "profile.email", false},
		{`{"bob.ssn":"x"}`, "*.ssn", true}, // a * takes one piece where dots expand
		{`{"users":{"alice.email":"x"}}`, "users.*.email", true},
		{`{"a.b":1,"c":{"d.e":2}}`, "*,c.*", false},                         // paths that end here seal them whole
		{`{"profile.email":"x"}`, `profile.email,profile\.email.zzz`, true}, // named, but not sealed whole
		{`{"profile..email":"x"}`, "profile.email", false},
		{`{"a.b":"x"}`, `a\.b`, false},
		{`{"a.b":"x","a":{"b":"y"}}`, `a\.b,a.b`, false}, // the dotted key is named too: sealed whole
		{`{"a.b":{"c":"x"}}`, `a\.b,a.b.c`, false},
		{`{"a.b":{"c":"x"}}`, `a\.b.c,a.b.c`, false}, // a\.b.c follows the dotted key and seals c
		{`{"a.b":{"c":"x"}}`, `*.c,a.b.c`, true},     // a * does not name the dotted key
		{`{"x":{"profile.email":"x"}}`, "profile.email", false},
		{`{"profile":{"email":"x"}}`, "profile.email", false},
		{`{"version.major":1}`, "email", false},
	}
	for _, tc := range cases {
		checkRefused(t, p, tc.doc, tc.fields, ErrDottedKey, tc.refused)
	}
}

// TestFieldInArray: encrypting, a path that names a key where the document
// has an array of objects is refused (the key may be in every element),
// unless the list also names the elements (a * twin); arrays without an
// object, and decrypting, pass as before.
func TestFieldInArray(t *testing.T) {
	p := testParams(t)
	cases := []struct {
		doc, fields string
		refused     bool
	}{
		{`{"items":[{"card":"4111"}]}`, "items.card", true},
		{`[{"ssn":"123-45-6789"}]`, "ssn", true},
		{`{"a":[{"b":[{"c":"s1"}]}]}`, "a.b.c", true},
		{`{"a":{"b":[{"c":"s1"}]}}`, "a.b.c", true},
		{`{"items":[1,"x",{"card":"4111"}]}`, "items.card", true},
		{`{"items":[]}`, "items.card", false},
		{`{"tags":["a","b",1]}`, "tags.name", false},
		{`{"tags":["a",[1]]}`, "tags.name", true}, // an array inside: refused without looking in
		{`{"items":[[{"card":"4111"}]]}`, "items.card", true},
		{`{"items":[1,[{"card":"4111"}]]}`, "items.card", true},
		{`[[{"ssn":"1"}]]`, "*.ssn", true},
		{`{"items":[[{"card":"4111"}]]}`, "items.*.*.card", false},
		{`{"items":[{"card":"4111"}]}`, "items.*.card", false},
		{`{"items":[{"card":"4111"}]}`, "items.card,items.*.card", false},
		{`[{"ssn":"123-45-6789"}]`, "ssn,*.ssn", false},
		{`{"items":[{"card":"4111"}]}`, "items.0.card", false},
		{`{"items":[{"card":"4111"}]}`, "items", false},
		{`{"other":[{"card":"4111"}]}`, "items.card", false},
	}
	for _, tc := range cases {
		f := mustFields(t, tc.fields)
		out, err := Encrypt(nil, []byte(tc.doc), f, p)
		if got := errors.Is(err, ErrFieldInArray); got != tc.refused {
			t.Errorf("Encrypt(%s, %s) = %v, want refused %v", tc.doc, tc.fields, err, tc.refused)
		}
		if tc.refused && out != nil {
			t.Errorf("Encrypt(%s, %s) = %q, want nothing", tc.doc, tc.fields, out)
		}
		if tc.refused {
			if _, err := Decrypt(nil, []byte(tc.doc), f, p); err != nil {
				t.Errorf("Decrypt(%s, %s) = %v, want nil: decrypting leaves what it does not name", tc.doc, tc.fields, err)
			}
		}
	}
}

// TestForList: the paths of a list for a document that is an array:
// those that start with a key go under "*.", the others stay, none is
// lost however many there are (from a security review: a doubled list over
// MaxFields fell back to "*." forms only, and "*.ssn" became "*.*.ssn").
func TestForList(t *testing.T) {
	list := []string{"ssn", "*.card", "0.id", `a\,b`, `\*`, "user.email"}
	for i := range MaxFields - len(list) {
		list = append(list, "f"+strconv.Itoa(i))
	}
	f, err := FieldsFromList(list)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ForList()
	if err != nil {
		t.Fatalf("ForList of %d paths = %v", f.Len(), err)
	}
	want := []string{"*.ssn", "*.card", "0.id", `*.a\,b`, `*.\*`, "*.user.email"}
	if names := got.Names(); got.Len() != MaxFields || !slices.Equal(names[:len(want)], want) {
		t.Errorf("ForList = %d paths %q…, want %d starting %q", got.Len(), names[:len(want)], MaxFields, want)
	}
	p := testParams(t)
	doc := `[{"ssn":"s1","card":"c1","a,b":"ab1","*":"star1","user":{"email":"e1"}},{"id":"i0"}]`
	out, err := Encrypt(nil, []byte(doc), got, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"s1", "c1", "ab1", "star1", "e1"} {
		if strings.Contains(string(out), `"`+v+`"`) {
			t.Errorf("Encrypt(%s) with the list paths = %s, %s left in clear", doc, out, v)
		}
	}
}
