package fieldcrypt

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestFoldClassSound: every pair of runes caseVariant takes for the same
// letter (simple folding, or a common upper or lower case mapping) is in
// one fold class, so a signature never keeps a comparison from running
// where it would find a variant. All of Unicode is searched for such pairs.
func TestFoldClassSound(t *testing.T) {
	upper, lower := map[rune][]rune{}, map[rune][]rune{}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if u := unicode.ToUpper(r); u != r {
			upper[u] = append(upper[u], r)
		}
		if l := unicode.ToLower(r); l != r {
			lower[l] = append(lower[l], r)
		}
	}
	pairs := 0
	check := func(x, y rune) {
		pairs++
		if foldClass(x) != foldClass(y) {
			t.Errorf("U+%04X and U+%04X compare as one letter but are in classes U+%04X and U+%04X", x, y, foldClass(x), foldClass(y))
		}
	}
	for x := rune(0); x <= unicode.MaxRune; x++ {
		for f := unicode.SimpleFold(x); f != x; f = unicode.SimpleFold(f) {
			check(x, f)
		}
		u, l := unicode.ToUpper(x), unicode.ToLower(x)
		check(x, u)
		check(x, l)
		for _, y := range upper[u] {
			check(x, y)
		}
		for _, y := range lower[l] {
			check(x, y)
		}
	}
	// The ASCII fast path gives what the classes give.
	for r := rune(0); r < utf8.RuneSelf; r++ {
		c, ok := foldClasses()[r]
		if !ok {
			c = r
		}
		if got := foldClass(r); got != c {
			t.Errorf("foldClass(%q) = %q, want %q", r, got, c)
		}
	}
	if pairs < 1_000_000 {
		t.Errorf("checked %d pairs: the search did not run", pairs)
	}
}

// TestFoldSigOfVariants: strings caseVariant finds the same have one
// signature, invalid UTF-8 included; others mostly do not.
func TestFoldSigOfVariants(t *testing.T) {
	for _, p := range [][2]string{
		{"ssn", "\u017f\u017fn"}, {"kind", "\u212aind"}, {"id", "\u0131d"}, {"caf\u00e9", "CAF\u00c9"},
		{"\u0130d", "id"}, {"a\xffb", "A\xffB"}, {"\u01c5", "\u01c4"}, {"\u03b8", "\u03f4"},
	} {
		if !caseVariant([]byte(p[0]), p[1]) {
			t.Fatalf("caseVariant(%q, %q) = false", p[0], p[1])
		}
		if foldSig([]byte(p[0])) != foldSig([]byte(p[1])) {
			t.Errorf("foldSig(%q) != foldSig(%q)", p[0], p[1])
		}
	}
	if foldSig([]byte("caf\u00e9")) == foldSig([]byte("cafe")) || foldSig([]byte("ab")) == foldSig([]byte("ba")) {
		t.Error("different letters give one signature")
	}
}
