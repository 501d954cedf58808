package fieldcrypt

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestLooseSigSound checks over all of Unicode what makes a loose
// signature the same for every spelling the case checks take for a key
// (see loosesig.go): then matchKey may skip a key whose signature is no
// named key's without missing a variant.
func TestLooseSigSound(t *testing.T) {
	keptCCC := map[uint8][]rune{} // combining classes of the marks kept
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		c := looseContrib(r)
		// Every rune of a fold class decomposes to the same classes, so
		// runes caseVariant takes for each other add the same.
		if cc := looseContrib(foldClass(r)); !slices.Equal(c, cc) {
			t.Fatalf("U+%04X adds %U, its class U+%04X adds %U", r, c, foldClass(r), cc)
		}
		if r >= looseLimit && !slices.Equal(c, []rune{r}) {
			t.Fatalf("U+%04X at or past looseLimit adds %U, not itself", r, c)
		}
		if ccc := norm.NFD.PropertiesString(string(r)).CCC(); ccc != 0 && len(c) > 0 {
			keptCCC[ccc] = append(keptCCC[ccc], r)
		}
		// The table gives what looseContrib says, and a rune's
		// signature is its normal forms'.
		s := string(r)
		want := uint64(14695981039346656037)
		for _, x := range c {
			want = (want ^ uint64(x)) * 1099511628211
		}
		if got := looseSig([]byte(s)); got != want {
			t.Fatalf("looseSig(U+%04X) = %x, want %x (from %U)", r, got, want, c)
		}
		if d, k := looseSig([]byte(norm.NFD.String(s))), looseSig([]byte(norm.NFC.String(s))); d != want || k != want {
			t.Fatalf("U+%04X: signature %x, of its NFD %x, of its NFC %x", r, want, d, k)
		}
	}
	// Marks kept (those with a case relation) have one combining class:
	// canonical reordering never moves one past another.
	if len(keptCCC) > 1 {
		t.Fatalf("marks kept in the signature have several combining classes: %v", keptCCC)
	}
	t.Logf("marks kept, by combining class: %v", keptCCC)
}

// TestLooseSigVariants checks keys the case checks take for a named key
// (and their own tests use) against its signature, and that different
// letters give different signatures.
func TestLooseSigVariants(t *testing.T) {
	marks := strings.Repeat("\u0301", 35) // past 30: the normalisers insert U+034F
	for _, c := range []struct {
		key, named string
		same       bool
	}{
		{"cafe\u0301", "caf\u00e9", true},
		{"CAFE\u0301", "caf\u00e9", true},
		{"J\u030c", "\u01f0", true},
		{"I\u0307d", "id", true},
		{"\u017fsn", "ssn", true},
		{"\u212a", "k", true},
		{"\u0345", "\u03b9", true},
		{"A\u030a", "\u212b", true},
		{"\u1100\u1161\u11a8", "\uac01", true},
		{"e" + marks, "\u00e9" + marks[2:], true},
		{"e" + marks[:60] + "\u034f" + marks[60:], "e" + marks, true},
		{"a\u0323\u0302", "a\u0302\u0323", true},
		{"caf\u00e9", "cafe", true}, // marks are left out: a comparison decides
		{"caf\u00e9", "caff", false},
		{"ssn", "sn", false},
		{"\xff", "\ufffd", true},
	} {
		if got := looseSig([]byte(c.key)) == looseSig([]byte(c.named)); got != c.same {
			t.Errorf("looseSig(%q) == looseSig(%q): %v, want %v", c.key, c.named, got, c.same)
		}
	}
}
