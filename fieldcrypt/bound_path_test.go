package fieldcrypt

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// tok is a syntactically valid token, for the tokens mode of the scanner.
const tok = `"qanapi:bm9uZQ:v1:AAAA:$"`

// largeObject returns an object of n members "k<i>":0 followed by last.
func largeObject(n int, last string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"k%d":0,`, i)
	}
	return b.String() + last + "}"
}

func TestBoundPath(t *testing.T) {
	tests := []struct {
		name, doc, fields string // fields "" means tokens mode (DecryptAll)
		want              []string
	}{
		{"top level", `{"a":1}`, "a", []string{"a"}},
		{"nested", `{"user":{"email":"e","name":"n"}}`, "user.email", []string{"user.email"}},
		{"array elements bind the field", `{"a":[1,{"x":2},[3]]}`, "a", []string{"a", "a", "a"}},
		{"indices left out", `{"items":[{"card":1},{"id":2},{"card":3}]}`, "items.*.card", []string{"items.card", "items.card"}},
		{"index in the field", `{"items":[{"c":1},{"c":2}]}`, "items.1.c", []string{"items.c"}},
		{"nested arrays", `{"a":[[{"b":1}],[{"b":2}]]}`, "a.*.*.b", []string{"a.b", "a.b"}},
		{"object value", `{"a":{"b":{"c":1}},"d":2}`, "a.b", []string{"a.b"}},
		{"empty objects", `{"a":{"b":{},"c":[{}]}}`, "a.b,a.c", []string{"a.b", "a.c"}},
		{"empty array: no element", `{"a":{"b":[]}}`, "a.b", nil},
		{"after a closed sibling", `{"a":{"b":{"c":{"d":1}},"e":2}}`, "a.e", []string{"a.e"}},
		{"after a closed array of objects", `{"a":[{"x":1},{"y":2}],"b":3}`, "b", []string{"b"}},
		{"wildcards", `{"a":{"x":1,"y":{"z":2}}}`, "*.*", []string{"a.x", "a.y"}},
		{"dot escaped", `{"a.b":{"c":1}}`, `a\.b.c`, []string{`a\.b.c`}},
		{"backslash escaped", `{"a\\b":1,"c\\.":2}`, `a\\b,c\\\.`, []string{`a\\b`, `c\\\.`}},
		{"star and comma kept", `{"*":{"x,y":1}}`, `\*.x\,y`, []string{`*.x,y`}},
		{"JSON escapes decoded", `{"\u0061":{"\u00e9\"":1}}`, "a.*", []string{`a.é"`}},
		{"top-level array", `[{"a":1},{"a":2}]`, "*.a", []string{"a", "a"}},
		{"top-level array elements", `[1,2]`, "*", []string{"", ""}},
		{"empty key", `{"":{"":1}}`, "*.*", []string{"."}},
		{"large object", largeObject(40, `"last":{"x":1}`), "last.x", []string{"last.x"}},
		{"inside a large object", `{"o":` + largeObject(20, `"z":{"k1":{"y":2}}`) + `}`, "o.z.k1.y", []string{"o.z.k1.y"}},
		{"tokens", `{"x":[{"y":` + tok + `}],"z":` + tok + `,"w":{"v.u":[` + tok + `]}}`, "", []string{"x.y", "z", `w.v\.u`}},
		{"token document", tok, "", []string{""}},
		{"tokens in a top-level array", `[` + tok + `,[` + tok + `]]`, "", []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s scratch
			var f Fields
			if tt.fields != "" {
				f = mustFields(t, tt.fields)
			}
			if err := s.locate([]byte(tt.doc), f, tt.fields == "", true); err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range s.sc.spans {
				got = append(got, string(s.sc.path(i)))
			}
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
				t.Errorf("bound paths of %s, %q = %q, want %q", tt.doc, tt.fields, got, tt.want)
			}
		})
	}
}

func TestBoundPathNotRecorded(t *testing.T) {
	var s scratch
	if err := s.locate([]byte(`{"a":{"b":1}}`), mustFields(t, "a.b"), false, false); err != nil {
		t.Fatal(err)
	}
	if got := s.sc.path(0); got != nil || len(s.sc.pathBuf) != 0 {
		t.Errorf("path(0) without bind = %q, buffer %q; want nothing recorded", got, s.sc.pathBuf)
	}
}

// TestBoundAD checks that the associated data of bound tokens differs from
// that of unbound tokens, and between paths whose bytes run together.
func TestBoundAD(t *testing.T) {
	ads := [][]byte{
		appendAD(nil, "p", []byte("none"), 1),
		appendBoundAD(nil, "p", []byte("none"), 1, nil),
		appendBoundAD(nil, "p", []byte("none"), 1, []byte("a")),
		appendBoundAD(nil, "p", []byte("none"), 1, []byte("a.b")),
		appendBoundAD(nil, "p", []byte("none"), 2, []byte("a")),
		appendBoundAD(nil, "p", []byte("nonea"), 1, nil),
		appendBoundAD(nil, "pn", []byte("one"), 1, []byte("a")),
	}
	for i := range ads {
		for j := range i {
			if bytes.Equal(ads[i], ads[j]) {
				t.Errorf("associated data %d and %d are equal: %x", i, j, ads[i])
			}
		}
	}
	want := "qanapi-token-v1f\x00\x00\x00\x00\x01p\x00\x00\x00\x04none\x00\x00\x00\x01\x00\x00\x00\x03a.b"
	if got := string(ads[3]); got != want {
		t.Errorf("appendBoundAD(p, none, 1, a.b) = %q, want %q", got, want)
	}
}
