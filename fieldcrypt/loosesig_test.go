package fieldcrypt

import (
	"math/rand/v2"
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
	b := looseBuild()
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		it := slices.Clone(b.items(r))
		// Every rune of a fold class reads as the same items, so runes
		// caseVariant takes for each other add the same.
		if ic := b.items(foldClass(r)); !slices.Equal(it, ic) {
			t.Fatalf("U+%04X reads as %x, its class U+%04X as %x", r, it, foldClass(r), ic)
		}
		if r >= looseLimit && !slices.Equal(it, []uint32{uint32(r)}) {
			t.Fatalf("U+%04X at or past looseLimit reads as %x, not as itself", r, it)
		}
		// The table gives the builder's items, and a rune's signature is
		// its normal forms'.
		want := looseHash{h: 14695981039346656037}
		for _, x := range it {
			want.add(x)
		}
		want.flush()
		s := string(r)
		if got := looseSig([]byte(s)); got != want.h {
			t.Fatalf("looseSig(U+%04X) = %x, want %x (from %x)", r, got, want.h, it)
		}
		if d, k := looseSig([]byte(norm.NFD.String(s))), looseSig([]byte(norm.NFC.String(s))); d != want.h || k != want.h {
			t.Fatalf("U+%04X: signature %x, of its NFD %x, of its NFC %x", r, want.h, d, k)
		}
	}
	t.Logf("marks left out: %U", slices.Sorted(func(yield func(rune) bool) {
		for m := range b.unstable {
			if !yield(m) {
				return
			}
		}
	}))
}

// TestLooseSigStrings checks, on random strings of the runes where it
// could go wrong (marks, the iota subscript, composed letters, Hangul,
// U+034F, runs of more than 30 marks), that a string's signature is its
// NFD's and NFC's, and its case variants' (each rune swapped for another
// of its fold class), as the case checks compare them.
func TestLooseSigStrings(t *testing.T) {
	var pool []rune
	for r := rune(0); r < 0x3000; r++ {
		p := norm.NFD.PropertiesString(string(r))
		if p.CCC() != 0 || p.Decomposition() != nil || foldClass(r) != r {
			pool = append(pool, r)
		}
	}
	pool = append(pool, 'a', 'k', 's', 'i', 'I', '\u0345', '\u03b9', '\u0399', '\u1fbe', '\u0130', '\u0131',
		cgj, '\u1100', '\u1161', '\u11a8', '\uac00', '\uac01', '\u212a', '\u212b', '\u2126', '\u00df', '\u1e9e')
	members := map[rune][]rune{}
	for r := rune(0); r < 0x20000; r++ {
		c := foldClass(r)
		members[c] = append(members[c], r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for range n {
		var sb strings.Builder
		for range 1 + rng.IntN(8) {
			r := pool[rng.IntN(len(pool))]
			sb.WriteRune(r)
			if rng.IntN(20) == 0 { // a long run of marks
				for range 28 + rng.IntN(8) {
					sb.WriteRune([]rune{'\u0301', '\u0323', '\u0345', '\u0308'}[rng.IntN(4)])
				}
			}
		}
		s := sb.String()
		want := looseSig([]byte(s))
		for _, v := range []string{norm.NFD.String(s), norm.NFC.String(s)} {
			if got := looseSig([]byte(v)); got != want {
				t.Fatalf("%+q: signature %x, of %+q %x", s, want, v, got)
			}
		}
		// swap returns a rune caseVariant takes for r.
		swap := func(r rune) rune {
			var related []rune
			for _, m := range members[foldClass(r)] {
				if caseVariant([]byte(string(m)), string(r)) {
					related = append(related, m)
				}
			}
			return related[rng.IntN(len(related))]
		}
		var cv []rune
		for _, r := range s {
			cv = append(cv, swap(r))
		}
		if v := string(cv); !caseVariant([]byte(v), s) {
			t.Fatalf("%+q is no case variant of %+q", v, s)
		} else if got := looseSig([]byte(v)); got != want {
			t.Fatalf("%+q: signature %x, of its case variant %+q %x", s, want, v, got)
		}
		// And what canonVariant compares: the NFD forms as case
		// variants, and the NFC form.
		if d := []rune(norm.NFD.String(string(cv))); len(d) > 0 {
			for i, r := range d {
				d[i] = swap(r)
			}
			if got := looseSig([]byte(string(d))); got != want {
				t.Fatalf("%+q: signature %x, of %+q (its NFD, case changed) %x", s, want, string(d), got)
			}
		}
	}
}

// TestLooseSigVariants checks keys the case checks take for a named key
// (and their own tests use) against its signature, and that different
// letters or marks give different signatures.
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
		{"\u0130d", "id", true},
		{"\u017fsn", "ssn", true},
		{"\u212a", "k", true},
		{"\u0345", "\u03b9", true},
		{"x\u0301\u03b9", "x\u0301\u0345", true},
		{"\u03b1\u0345\u0301", "\u03b1\u0301\u0345", true},
		{"A\u030a", "\u212b", true},
		{"\u1100\u1161\u11a8", "\uac01", true},
		{"e" + marks, "\u00e9" + marks[2:], true},
		{"e" + marks[:60] + "\u034f" + marks[60:], "e" + marks, true},
		{"a\u0323\u0302", "a\u0302\u0323", true},
		{"\xff", "\ufffd", true},
		{"caf\u00e9", "cafe", false}, // marks count
		{"caf\u00e8", "caf\u00e9", false},
		{"caf\u00e9", "caff", false},
		{"ssn", "sn", false},
		{"k\u0300_bidx", "k_bi\u0300dx", false}, // a mark on another letter
	} {
		if got := looseSig([]byte(c.key)) == looseSig([]byte(c.named)); got != c.same {
			t.Errorf("looseSig(%+q) == looseSig(%+q): %v, want %v", c.key, c.named, got, c.same)
		}
	}
}

// TestSepGatesSound checks on random keys that the gates of the separator
// check never turn away a key it would refuse: whenever sepVariant(key,
// name), firstClass and sepSig agree; and whenever the key and the name
// are separator variants once decomposed (scanner.variant), their loose
// signatures agree.
func TestSepGatesSound(t *testing.T) {
	pool := []rune("aAbBkKsSiIyY_-. \t\u00a0\u3000\ufeff\u017f\u212a\u0131\u0130\u00e9\u00c9\u0301\u0307\u0345\u03b9\u00df")
	seps := []rune("_-. \t\u00a0\u3000\ufeff")
	members := map[rune][]rune{}
	for r := rune(0); r < 0x20000; r++ {
		members[foldClass(r)] = append(members[foldClass(r)], r)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	checked := 0
	for range n {
		var name []rune
		for range 1 + rng.IntN(6) {
			name = append(name, pool[rng.IntN(len(pool))])
		}
		// A variant: separators dropped or added, runes swapped within
		// their class.
		var key []rune
		for _, r := range name {
			switch {
			case slices.Contains(seps, r) && rng.IntN(2) == 0:
				continue
			case rng.IntN(4) == 0:
				key = append(key, seps[rng.IntN(len(seps))])
			}
			m := members[foldClass(r)]
			key = append(key, m[rng.IntN(len(m))])
		}
		k, nm := []byte(string(key)), string(name)
		if sepVariant(k, nm) {
			checked++
			if firstClass(k) != firstClass([]byte(nm)) || sepSig(k) != sepSig([]byte(nm)) {
				t.Fatalf("sepVariant(%+q, %+q), but firstClass %U/%U, sepSig %x/%x", k, nm,
					firstClass(k), firstClass([]byte(nm)), sepSig(k), sepSig([]byte(nm)))
			}
		}
		if sepVariant([]byte(norm.NFD.String(string(k))), norm.NFD.String(nm)) && looseSig(k) != looseSig([]byte(nm)) {
			t.Fatalf("%+q and %+q are separator variants decomposed, but their loose signatures differ", k, nm)
		}
	}
	if checked < n/10 {
		t.Fatalf("only %d of %d keys were variants: the test checks too little", checked, n)
	}
}
