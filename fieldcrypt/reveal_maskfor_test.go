package fieldcrypt

import (
	"runtime"
	"testing"
)

// TestRevealMaskFor: each opened token gets the mask MaskFor gives its
// classification; nil falls back to Mask, then DefaultMask; tokens that
// stay are not asked about.
func TestRevealMaskFor(t *testing.T) {
	p := testParams(t)
	toks := revealTokens(t, p) // @A: "ada@example.com" (none), @P: "pii value" (pii), @F: another project's
	first3 := &Mask{ShowFirst: 3, Char: '#'}
	var asked []string
	maskFor := func(cls []byte) *Mask {
		asked = append(asked, string(cls))
		if string(cls) == "pii" {
			return first3
		}
		return nil
	}
	doc := expand(`{"a":@A,"p":@P,"f":@F}`, toks)
	tests := []struct {
		name  string
		o     RevealOptions
		want  string
		asked []string
	}{
		{"MaskFor alone", RevealOptions{MaskFor: maskFor},
			`{"a":"***********.com","p":"pii######","f":` + toks["F"] + `}`, []string{"none", "pii"}},
		{"MaskFor and Mask", RevealOptions{MaskFor: maskFor, Mask: &Mask{Char: '-'}},
			`{"a":"---------------","p":"pii######","f":` + toks["F"] + `}`, []string{"none", "pii"}},
		{"Mask alone", RevealOptions{Mask: &Mask{ShowLast: 1}},
			`{"a":"**************m","p":"********e","f":` + toks["F"] + `}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			got, counts, err := Reveal(nil, []byte(doc), mustFields(t, "a,p,f"), p, tt.o)
			if err != nil || string(got) != tt.want || counts != (RevealCounts{Opened: 2, Untransformed: 1}) {
				t.Errorf("Reveal(%s) = %s, %+v, %v, want %s, 2 opened, 1 left", tt.name, got, counts, err, tt.want)
			}
			if len(asked) != len(tt.asked) || len(asked) > 0 && (asked[0] != tt.asked[0] || asked[1] != tt.asked[1]) {
				t.Errorf("Reveal(%s) asked MaskFor for %q, want %q (opened tokens only)", tt.name, asked, tt.asked)
			}
		})
	}
}

// TestRevealMaskForAllocs: a MaskFor that allocates nothing keeps Reveal
// at zero allocations.
func TestRevealMaskForAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	pii := &Mask{ShowFirst: 2, ShowLast: 2, Char: '•'}
	o := RevealOptions{MaskFor: func(cls []byte) *Mask {
		if string(cls) == "pii" {
			return pii
		}
		return nil
	}}
	for name, p := range allocParams(t) {
		f := mustFields(t, fields300)
		q := *p
		q.Classification = "pii"
		enc, err := Encrypt(nil, []byte(body300), f, &q)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 4096)
		runtime.GC()
		runtime.GC()
		allocs := testing.AllocsPerRun(200, func() {
			if _, c, err := Reveal(dst[:0], enc, f, p, o); err != nil || c.Opened == 0 {
				t.Fatal(c, err)
			}
		})
		if allocs > 0 {
			t.Errorf("Reveal(2 fields, %s, MaskFor) allocs = %v, want 0", name, allocs)
		}
	}
}
