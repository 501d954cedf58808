package fieldcrypt

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// revealTokens seals the token strings that the Reveal tests place in their
// documents as @A, @B, …, all for project proj_1 unless said otherwise.
func revealTokens(t *testing.T, p *Params) map[string]string {
	t.Helper()
	seal := func(q *Params, raw string) string {
		tok, err := SealValue(nil, []byte(raw), q)
		if err != nil {
			t.Fatalf("SealValue(%s) = %v", raw, err)
		}
		return `"` + string(tok) + `"`
	}
	withPII, foreign, later := *p, *p, *p
	withPII.Classification = "pii"
	foreign.ProjectID = "proj_2"
	later.Keys = newTestKeyring(t, 3) // version 3, which p's keyring does not hold
	toks := map[string]string{
		"A": seal(p, `"ada@example.com"`),
		"N": seal(p, `1234567890`),
		"S": seal(p, `"ab"`),
		"U": seal(p, `"héllo wörld"`),
		"E": seal(p, `"a\"b\\c\u00e9\n"`),
		"O": seal(p, ` {"k":"v"} `),
		"Z": seal(p, `null`),
		"P": seal(&withPII, `"pii value"`),
		"F": seal(&foreign, `"other project"`),
		"V": seal(&later, `"later version"`),
	}
	a := toks["A"]
	toks["X"] = a[:30] + string(a[30]^1) + a[31:] // one payload bit flipped: still a token
	if !isTokenString([]byte(toks["X"])) {
		t.Fatalf("tampered token %s lost the token syntax", toks["X"])
	}
	bound := *p
	bound.BindFields = true
	enc, err := Encrypt(nil, []byte(`{"ssn":"123-45-6789"}`), mustFields(t, "ssn"), &bound)
	if err != nil {
		t.Fatal(err)
	}
	toks["B"] = tokenRE.FindString(string(enc))
	return toks
}

var placeholderRE = regexp.MustCompile(`@[A-Z]`)

// expand replaces each placeholder @X of tmpl by the token string toks[X].
func expand(tmpl string, toks map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(tmpl, func(s string) string { return toks[s[1:]] })
}

func TestReveal(t *testing.T) {
	p := testParams(t)
	toks := revealTokens(t, p)
	refusePII := func(cls string) error {
		if cls == "pii" {
			return errors.New("not for this key")
		}
		return nil
	}
	onlyPII := func(q *Params) { q.Classification = "pii" }
	tests := []struct {
		name, doc, fields string
		mask              *Mask
		params            func(*Params)
		want              string
		counts            RevealCounts
	}{
		{name: "token opens", doc: `{"a":@A,"b":"x"}`, fields: "a",
			want: `{"a":"ada@example.com","b":"x"}`, counts: RevealCounts{Opened: 1}},
		{name: "every type", doc: `{"n":@N,"o":@O,"z":@Z}`, fields: "n,o,z",
			want: `{"n":1234567890,"o":{"k":"v"},"z":null}`, counts: RevealCounts{Opened: 3}},
		{name: "non-tokens pass", doc: `{"a":"plain","b":42,"c":null,"d":{"e":@A},"f":"qanapi:bm9uZQ:v1:*:$"}`, fields: "a,b,c,d,f",
			want: `{"a":"plain","b":42,"c":null,"d":{"e":@A},"f":"qanapi:bm9uZQ:v1:*:$"}`},
		{name: "unnamed token stays uncounted", doc: `{"a":@A,"b":@A}`, fields: "b",
			want: `{"a":@A,"b":"ada@example.com"}`, counts: RevealCounts{Opened: 1}},
		{name: "absent field", doc: `{"a":@A}`, fields: "missing", want: `{"a":@A}`},
		{name: "foreign token stays", doc: `{"a":@F,"b":@A}`, fields: "a,b",
			want: `{"a":@F,"b":"ada@example.com"}`, counts: RevealCounts{Opened: 1, Untransformed: 1}},
		{name: "tampered token stays", doc: `{"a":@X}`, fields: "a",
			want: `{"a":@X}`, counts: RevealCounts{Untransformed: 1}},
		{name: "unknown key version stays", doc: `{"a":@V}`, fields: "a",
			want: `{"a":@V}`, counts: RevealCounts{Untransformed: 1}},
		{name: "classification refused by Allow stays", doc: `{"a":@P,"b":@A}`, fields: "a,b", params: func(q *Params) { q.Allow = refusePII },
			want: `{"a":@P,"b":"ada@example.com"}`, counts: RevealCounts{Opened: 1, Untransformed: 1}},
		{name: "classification allowed", doc: `{"a":@P}`, fields: "a", params: onlyPII,
			want: `{"a":"pii value"}`, counts: RevealCounts{Opened: 1}},
		{name: "classification mismatch stays", doc: `{"a":@P,"b":@A}`, fields: "a,b", params: onlyPII,
			want: `{"a":"pii value","b":@A}`, counts: RevealCounts{Opened: 1, Untransformed: 1}},
		{name: "wildcard on a top-level array", doc: `[{"title":@A,"id":1},{"title":"draft"},{"title":@F},{"id":2}]`, fields: "*.title",
			want: `[{"title":"ada@example.com","id":1},{"title":"draft"},{"title":@F},{"id":2}]`, counts: RevealCounts{Opened: 1, Untransformed: 1}},
		{name: "array-valued field", doc: `{"tags":[@A, "x", @X, 7, @N]}`, fields: "tags",
			want: `{"tags":["ada@example.com", "x", @X, 7, 1234567890]}`, counts: RevealCounts{Opened: 2, Untransformed: 1}},
		{name: "bound token at its path", doc: `{"ssn":@B}`, fields: "ssn",
			want: `{"ssn":"123-45-6789"}`, counts: RevealCounts{Opened: 1}},
		{name: "bound token at another path stays", doc: `{"note":@B,"x":{"ssn":@B}}`, fields: "note,x.ssn",
			want: `{"note":@B,"x":{"ssn":@B}}`, counts: RevealCounts{Untransformed: 2}},
		{name: "masked string", doc: `{"a":@A}`, fields: "a", mask: &DefaultMask,
			want: `{"a":"***********.com"}`, counts: RevealCounts{Opened: 1}},
		{name: "masked number", doc: `{"n":@N}`, fields: "n", mask: &DefaultMask,
			want: `{"n":"****"}`, counts: RevealCounts{Opened: 1}}, // not a string: masked whole, fixed length
		{name: "masked short value hidden whole", doc: `{"s":@S}`, fields: "s", mask: &DefaultMask,
			want: `{"s":"**"}`, counts: RevealCounts{Opened: 1}},
		{name: "masked null", doc: `{"z":@Z}`, fields: "z", mask: &DefaultMask,
			want: `{"z":"****"}`, counts: RevealCounts{Opened: 1}},
		{name: "masked object shows nothing of itself", doc: `{"o":@O}`, fields: "o", mask: &DefaultMask,
			want: `{"o":"****"}`, counts: RevealCounts{Opened: 1}},
		{name: "masked unicode", doc: `{"u":@U}`, fields: "u", mask: &Mask{ShowFirst: 1, ShowLast: 2, Char: '•'},
			want: `{"u":"h••••••••ld"}`, counts: RevealCounts{Opened: 1}},
		{name: "masked escapes", doc: `{"e":@E}`, fields: "e", mask: &Mask{ShowFirst: 2, ShowLast: 2},
			want: `{"e":"a\"***é\n"}`, counts: RevealCounts{Opened: 1}},
		{name: "mask char escaped", doc: `{"s":@S}`, fields: "s", mask: &Mask{Char: '"'},
			want: `{"s":"\"\""}`, counts: RevealCounts{Opened: 1}},
		{name: "masked leaves foreign tokens", doc: `{"a":@F,"b":"plain"}`, fields: "a,b", mask: &DefaultMask,
			want: `{"a":@F,"b":"plain"}`, counts: RevealCounts{Untransformed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := *p
			if tt.params != nil {
				tt.params(&q)
			}
			doc, want := expand(tt.doc, toks), expand(tt.want, toks)
			got, counts, err := Reveal([]byte("prefix"), []byte(doc), mustFields(t, tt.fields), &q, RevealOptions{Mask: tt.mask})
			if err != nil || string(got) != "prefix"+want || counts != tt.counts {
				t.Errorf("Reveal(%s, %q) = %s, %+v, %v; want prefix%s, %+v, nil", doc, tt.fields, got, counts, err, want, tt.counts)
			}
			if !json.Valid(got[len("prefix"):]) {
				t.Errorf("Reveal(%s, %q) = %s, not valid JSON", doc, tt.fields, got)
			}
		})
	}
}

// TestRevealErrors checks that only an invalid document or a limit fails a
// Reveal, and that dst then comes back unchanged, with zero counts but for
// a limit: then Untransformed is the token strings found (none opened).
func TestRevealErrors(t *testing.T) {
	p := testParams(t)
	toks := revealTokens(t, p)
	doc := expand(`{"a":[@A,@F,"x",1,2,3],"b":@S}`, toks)
	opened := expand(`{"a":["ada@example.com",@F,"x",1,2,3],"b":"ab"}`, toks)
	masked := expand(`{"a":["***********.com",@F,"x",1,2,3],"b":"**"}`, toks)
	tests := []struct {
		name, doc            string
		maxValues, maxOutput int
		mask                 *Mask
		want                 error
		left                 int // Untransformed on error
	}{
		{name: "invalid JSON", doc: `{"a":`, want: ErrInvalidJSON},
		{name: "too deep", doc: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), want: ErrTooDeep},
		{name: "duplicate key", doc: `{"a":1,"a":2}`, want: ErrDuplicateKey},
		{name: "tokens at the value limit", doc: doc, maxValues: 3},
		{name: "tokens over the value limit", doc: doc, maxValues: 2, want: ErrTooManyValues, left: 3},
		{name: "value limit negative", doc: `{"a":1}`, maxValues: -1, want: ErrTooManyValues},
		{name: "output at the limit", doc: doc, maxOutput: len(opened)},
		{name: "output one over", doc: doc, maxOutput: len(opened) - 1, want: ErrOutputTooLarge, left: 3},
		{name: "masked output at the limit", doc: doc, maxOutput: len(masked), mask: &DefaultMask},
		{name: "masked output one over", doc: doc, maxOutput: len(masked) - 1, mask: &DefaultMask, want: ErrOutputTooLarge, left: 3},
		{name: "output over before the first token", doc: doc, maxOutput: 3, want: ErrOutputTooLarge, left: 3},
		{name: "output over with no token", doc: `{"a":"plain"}`, maxOutput: 5, want: ErrOutputTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := *p
			q.MaxValues, q.MaxOutput = tt.maxValues, tt.maxOutput
			got, counts, err := Reveal([]byte("prefix"), []byte(tt.doc), mustFields(t, "a,b"), &q, RevealOptions{Mask: tt.mask})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Reveal(%s, MaxValues %d, MaxOutput %d) = %v, want %v", tt.doc, tt.maxValues, tt.maxOutput, err, tt.want)
			}
			if tt.want != nil && (string(got) != "prefix" || counts != RevealCounts{Untransformed: tt.left}) {
				t.Errorf("Reveal failed with %v but returned %q, %+v; want dst unchanged, %d untransformed", err, got, counts, tt.left)
			}
		})
	}
}

// TestMaskChars checks the mask arithmetic on its own, including the
// clamping of ShowFirst and ShowLast and invalid mask characters.
func TestMaskChars(t *testing.T) {
	tests := []struct {
		name, raw string
		mask      Mask
		want      string
	}{
		{"zero mask hides all", `"secret"`, Mask{}, `"******"`},
		{"empty string", `""`, DefaultMask, `""`},
		{"one over the shown", `"12345"`, DefaultMask, `"*2345"`},
		{"exactly the shown", `"1234"`, DefaultMask, `"****"`},
		{"first and last", `"abcdefgh"`, Mask{ShowFirst: 2, ShowLast: 3, Char: '#'}, `"ab###fgh"`},
		{"first and last cover it", `"abcde"`, Mask{ShowFirst: 2, ShowLast: 3}, `"*****"`},
		{"first alone covers it", `"abc"`, Mask{ShowFirst: 3}, `"***"`},
		{"negative counts", `"abc"`, Mask{ShowFirst: -1, ShowLast: -5}, `"***"`},
		{"huge counts", `"abc"`, Mask{ShowFirst: 1 << 62, ShowLast: 1 << 62}, `"***"`},
		{"invalid char", `"ab"`, Mask{Char: 0xD800}, "\"\ufffd\ufffd\""},
		{"control char", `"ab"`, Mask{Char: 1}, `"\u0001\u0001"`},
		{"surrogate pair escape", `"x\ud83d\ude00yz"`, Mask{ShowFirst: 2, ShowLast: 1}, `"x😀*z"`},
		{"unpaired surrogate", `"\ud83dxyz"`, Mask{ShowFirst: 1, ShowLast: 1}, `"` + "\ufffd" + `**z"`},
		{"shown control chars", `"\u0000\u001f\t"`, Mask{ShowFirst: 3, ShowLast: 1}, `"***"`},
		{"shown escapes", `"\u0000\u001fab\t\/"`, Mask{ShowFirst: 2, ShowLast: 2}, `"\u0000\u001f**\t/"`},
		{"true", `true`, Mask{ShowFirst: 1}, `"****"`},
		{"false is as long as true", `false`, Mask{ShowFirst: 1}, `"****"`},
		{"array", `[1, "é"]`, Mask{ShowLast: 3}, `"****"`},
		{"whitespace trimmed", " \n-0.5e3\t", Mask{ShowFirst: 2}, `"****"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.mask.appendMasked([]byte("x"), []byte(tt.raw))
			if string(got) != "x"+tt.want {
				t.Errorf("%+v.appendMasked(%s) = %s, want x%s", tt.mask, tt.raw, got, tt.want)
			}
			var s string
			if err := json.Unmarshal(got[1:], &s); err != nil {
				t.Errorf("%+v.appendMasked(%s) = %s, not a JSON string: %v", tt.mask, tt.raw, got, err)
			}
		})
	}
}
