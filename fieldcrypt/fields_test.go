package fieldcrypt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"one", "a", []string{"a"}},
		{"spaces trimmed", " a , user.email ,items.*.card\t", []string{"a", "user.email", "items.*.card"}},
		{"duplicates once", "a,a, a", []string{"a"}},
		{"escaped dot", `a\.b,c`, []string{`a\.b`, "c"}},
		{"escaped star", `\*.x`, []string{`\*.x`}},
		{"escaped comma", `a\,b`, []string{`a\,b`}},
		{"escaped backslash", `a\\b`, []string{`a\\b`}},
		{"unicode", "ключ.名前", []string{"ключ.名前"}},
		{"inner space kept", "first name", []string{"first name"}},
		{"index", "items.0.card", []string{"items.0.card"}},
		{"escaped brackets", `user\[email\]`, []string{`user\[email\]`}},
		{"escaped glob", `card\*,\*\*`, []string{`card\*`, `\*\*`}},
		{"escaped root", `\$.ssn`, []string{`\$.ssn`}},
		{"escaped hash and slash", `items.\#,\/ssn,a/b`, []string{`items.\#`, `\/ssn`, "a/b"}},
		{"dollar and hash inside keys", "$ref,a.$,price$,#tag", []string{"$ref", "a.$", "price$", "#tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFields(tt.in)
			if err != nil {
				t.Fatalf("ParseFields(%q) = %v, want nil", tt.in, err)
			}
			if got := f.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("ParseFields(%q).Names() = %q, want %q", tt.in, got, tt.want)
			}
			if f.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", f.Len(), len(tt.want))
			}
		})
	}
}

func TestParseFieldsInvalid(t *testing.T) {
	for _, in := range []string{"", " ", "a,", ",a", "a,,b", "a..b", ".a", "a.", `a\`, `a\x`, "a, ,b"} {
		t.Run(in, func(t *testing.T) {
			if _, err := ParseFields(in); !errors.Is(err, ErrInvalidFields) {
				t.Errorf("ParseFields(%q) = %v, want ErrInvalidFields", in, err)
			}
		})
	}
}

// TestParseFieldsForeign: the notations of other path languages, which
// name keys nobody has and so would transform nothing, are refused with
// what to write instead; StoredFields reads them as keys (routes stored
// before), and their canonical names read back to the same paths.
func TestParseFieldsForeign(t *testing.T) {
	for in, hint := range map[string]string{
		"$.ssn":                 "JSONPath",
		"$":                     "JSONPath",
		"items.#.card":          "items.*.card",
		"items[0].card":         "brackets",
		"items[*].card":         "brackets",
		"$.items[*].card":       "JSONPath",
		"a]":                    "brackets",
		"**.ssn":                "whole segment",
		"user.**":               "whole segment",
		"card*":                 "whole segment",
		`\**`:                   "whole segment",
		"/user/email":           "JSON Pointer",
		"@.ssn":                 "JSONPath",
		"items.#(a==1).card":    "#(",
		`items.#(a\.b==1).card`: "#(",
		"ok, $.ssn":             "JSONPath",
		"user.email,a[0]":       "brackets",
		"items.*.card,*.a*b":    "whole segment",
		"ssn?":                  "glob",
		"user.?mail":            "glob",
		"items.-1.card":         "end",
		"items.-0":              "end",
		"items.last()":          "function",
		"items.length()":        "function",
		"items.{last}.card":     "Laravel",
		"{first}.ssn":           "Laravel",
		`"ssn"`:                 "quotes",
		`'ssn'`:                 "quotes",
		"`ssn`":                 "quotes",
		`"user.email"`:          "quotes",
		`user."first-name"`:     "quotes",
		"#/user/email":          "JSON Pointer",
		"{.user.email}":         "kubectl",
	} {
		_, err := ParseFields(in)
		if !errors.Is(err, ErrInvalidFields) || !strings.Contains(err.Error(), hint) {
			t.Errorf("ParseFields(%q) = %v, want ErrInvalidFields naming %q", in, err, hint)
		}
		if _, err := FieldsFromList(strings.Split(in, ",")); !errors.Is(err, ErrInvalidFields) {
			t.Errorf("FieldsFromList(%q) = %v, want ErrInvalidFields", in, err)
		}
	}
	stored := []string{"$", "items.#.card", "items[0].card", "**.ssn", "card*", "/user/email", "a.$", "#", "@", "#(x)", "#tag", "a.@",
		"ssn?", "items.-1", "a.last()", "items.{last}", "-", "-x", "()", "f(x)", "a.{lastx}", "é()",
		`"ssn"`, `'a.b'`, "`x`", `u."n"`, `"`, `a"b"`, "#/x", "{.a.b}", "{"}
	want := []string{`\$`, `items.\#.card`, `items\[0\].card`, `\*\*.ssn`, `card\*`, `\/user/email`, "a.$", `\#`, `\@`, `\#(x)`, "#tag", "a.@",
		`ssn\?`, `items.\-1`, `a.last\()`, `items.\{last}`, "-", "-x", "()", "f(x)", "a.{lastx}", "é()",
		`\"ssn"`, `\'a.b'`, "\\`x`", `u.\"n"`, `\"`, `a"b"`, `\#/x`, `\{.a.b}`, `\{`}
	f, err := StoredFields(stored)
	if err != nil {
		t.Fatalf("StoredFields(%q) = %v", stored, err)
	}
	if got := f.Names(); !slices.Equal(got, want) {
		t.Fatalf("StoredFields(%q).Names() = %q, want %q", stored, got, want)
	}
	back, err := ParseFields(strings.Join(f.Names(), ","))
	if err != nil {
		t.Fatalf("the canonical names do not parse back: %v", err)
	}
	for i := range f.paths {
		if !slices.Equal(back.paths[i].segs, f.paths[i].segs) {
			t.Errorf("%q parses back to %+v, want %+v", want[i], back.paths[i].segs, f.paths[i].segs)
		}
	}
	if l, err := f.ForList(); err != nil || l.Len() != f.Len() {
		t.Errorf("ForList() = %d paths, %v; want %d", l.Len(), err, f.Len())
	}
}

func TestParseFieldsLimits(t *testing.T) {
	var list []string
	for i := range MaxFields + 1 {
		list = append(list, string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if _, err := FieldsFromList(list[:MaxFields]); err != nil {
		t.Errorf("FieldsFromList(%d paths) = %v, want nil", MaxFields, err)
	}
	if _, err := FieldsFromList(list); !errors.Is(err, ErrInvalidFields) {
		t.Errorf("FieldsFromList(%d paths) = %v, want ErrInvalidFields", len(list), err)
	}
	deep := "a"
	for range MaxDepth {
		deep += ".a"
	}
	if _, err := ParseFields(deep); !errors.Is(err, ErrInvalidFields) {
		t.Errorf("ParseFields(%d segments) = %v, want ErrInvalidFields", MaxDepth+1, err)
	}
}

func TestFieldsFromList(t *testing.T) {
	f, err := FieldsFromList([]string{"a,b", " c.d ", `e\.f`, "c.d"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`a\,b`, "c.d", `e\.f`}
	if got := f.Names(); !slices.Equal(got, want) {
		t.Errorf("FieldsFromList().Names() = %q, want %q", got, want)
	}
	if f, err := FieldsFromList(nil); err != nil || f.Len() != 0 {
		t.Errorf("FieldsFromList(nil) = %d fields, %v; want 0, nil", f.Len(), err)
	}
	if _, err := FieldsFromList([]string{"a", ""}); !errors.Is(err, ErrInvalidFields) {
		t.Errorf(`FieldsFromList("a", "") = %v, want ErrInvalidFields`, err)
	}
}

// TestNamesRoundTrip checks that canonical names parse back to themselves.
func TestNamesRoundTrip(t *testing.T) {
	f, err := FieldsFromList([]string{"a.b", `x\.y`, "*", `\*`, `p\,q`, `b\\s`, "a.*.0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range f.Names() {
		g := mustFields(t, name)
		if got := g.Names(); len(got) != 1 || got[0] != name {
			t.Errorf("ParseFields(%q).Names() = %q, want [%q]", name, got, name)
		}
	}
}

// TestNestedSpellings: a path that names a key with dots (profile\.email)
// also seals and opens the value where stores that expand dotted keys put
// it ({"profile": {"email": …}}), and every spelling between, without
// naming them: they are not in Names, Len or the list names; keys that
// spell the path some other way are refused as ambiguous.
func TestNestedSpellings(t *testing.T) {
	p := testParams(t)
	f := mustFields(t, `profile\.email`)
	if got := f.Names(); len(got) != 1 || got[0] != `profile\.email` || f.Len() != 1 {
		t.Fatalf("Names = %q, Len = %d; want only the path named", got, f.Len())
	}
	if got := string(AppendListNames(nil, f)); got != `*.profile\.email` {
		t.Errorf("list names = %q", got)
	}
	for _, tc := range []struct{ fields, doc, sealed string }{
		{`profile\.email`, `{"profile":{"email":"secret","name":"n"}}`, `{"profile":{"email":"T","name":"n"}}`},
		{`profile\.email`, `{"profile.email":"secret"}`, `{"profile.email":"T"}`},
		{`x\.y.p\.q`, `{"x":{"y":{"p":{"q":"s"}}}}`, `{"x":{"y":{"p":{"q":"T"}}}}`},
		{`x\.y.p\.q`, `{"x.y":{"p":{"q":"s"}}}`, `{"x.y":{"p":{"q":"T"}}}`},
		{`x\.y.p\.q`, `{"x":{"y":{"p.q":"s"}}}`, `{"x":{"y":{"p.q":"T"}}}`},
		{`x\.y.p\.q`, `{"x.y":{"p.q":"s"}}`, `{"x.y":{"p.q":"T"}}`},
		{`*.a\.b`, `[{"a":{"b":"s"}},{"a.b":"s"}]`, `[{"a":{"b":"T"}},{"a.b":"T"}]`},
		{`a\.`, `{"a.":"s","a":{"x":1}}`, `{"a.":"T","a":{"x":1}}`}, // no store spells a. nested
		{`a\.b.c,a\.b.c`, `{"a.b":{"c":"s"}}`, `{"a.b":{"c":"T"}}`}, // named twice: still one family
	} {
		f := mustFields(t, tc.fields)
		out, err := Encrypt(nil, []byte(tc.doc), f, p)
		if err != nil {
			t.Errorf("Encrypt(%s, %s) = %v", tc.doc, tc.fields, err)
			continue
		}
		if got := string(tokenRE.ReplaceAll(out, []byte(`"T"`))); got != tc.sealed {
			t.Errorf("Encrypt(%s, %s) = %s, want %s", tc.doc, tc.fields, got, tc.sealed)
		}
		back, err := Decrypt(nil, out, f, p)
		if err != nil || string(back) != tc.doc {
			t.Errorf("Decrypt(Encrypt(%s, %s)) = %s, %v", tc.doc, tc.fields, back, err)
		}
	}
	// Spellings that split across the named keys' boundaries, or a path
	// with more dots than every spelling is listed for, are refused.
	checkRefused(t, p, `{"x":{"y.p":{"q":"s"}}}`, `x\.y.p\.q`, ErrDottedKey, true)
	checkRefused(t, p, `{"profile":{"email.x":"s"}}`, `profile\.email`, ErrDottedKey, true)
	checkRefused(t, p, `{"a.b.c.d.e.f":"s"}`, `a\.b\.c\.d\.e\.f`, ErrDottedKey, false)
	checkRefused(t, p, `{"a":{"b":{"c":{"d":{"e":{"f":"s"}}}}}}`, `a\.b\.c\.d\.e\.f`, ErrDottedKey, false)
	checkRefused(t, p, `{"a.b":{"c.d.e.f":"s"}}`, `a\.b\.c\.d\.e\.f`, ErrDottedKey, true)
	// Each spelling counts towards MaxFields: 16 for a path with 4 dots.
	four := []string{}
	for i := range 4 {
		four = append(four, fmt.Sprintf(`k%d\.a\.b\.c\.d`, i))
	}
	if f, err := ParseFields(strings.Join(four, ",")); err != nil || f.Len() != 4 || len(f.paths) != 64 {
		t.Errorf("4 paths of 4 dots: %v, %d paths named, %d in all; want 64 in all", err, f.Len(), len(f.paths))
	}
	if _, err := ParseFields(strings.Join(append(four, "x"), ",")); !errors.Is(err, ErrInvalidFields) {
		t.Errorf("a 65th spelling: %v, want ErrInvalidFields", err)
	}
}
