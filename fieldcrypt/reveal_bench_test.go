package fieldcrypt

import (
	"bytes"
	"runtime"
	"testing"
)

// revealModes are the options of the Reveal pins and benchmarks.
var revealModes = []struct {
	name string
	o    RevealOptions
}{
	{"plain", RevealOptions{}},
	{"masked", RevealOptions{Mask: &DefaultMask}},
}

// TestRevealAllocs pins Reveal to zero allocations with a pre-sized dst, for
// unbound and bound tokens, plain and masked, and with tokens that stay.
func TestRevealAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for name, p := range allocParams(t) {
		f := mustFields(t, fields300)
		enc, err := Encrypt(nil, []byte(body300), f, p)
		if err != nil {
			t.Fatal(err)
		}
		foreign := *p
		foreign.ProjectID = "proj_2" // every token stays
		dst := make([]byte, 0, 4096)
		for _, m := range revealModes {
			for _, q := range []*Params{&foreign, p} {
				runtime.GC() // twice: a cold pool, so a buffer that only
				runtime.GC() // some case would grow is not taken for granted
				allocs := testing.AllocsPerRun(200, func() {
					if _, _, err := Reveal(dst[:0], enc, f, q, m.o); err != nil {
						t.Fatal(err)
					}
				})
				if allocs > 0 {
					t.Errorf("Reveal(2 fields, %s, %s, project %s) allocs = %v, want 0", name, m.name, q.ProjectID, allocs)
				}
			}
		}
	}
}

// BenchmarkReveal measures the response phase's decryption next to
// BenchmarkDecrypt (same documents) and BenchmarkValidate (the baseline of
// a body that is not transformed): plain, masked, and with every token
// staying (another project's).
func BenchmarkReveal(b *testing.B) {
	for _, c := range benchCases(b) {
		enc, err := Encrypt(nil, c.doc, c.f, c.p)
		if err != nil {
			b.Fatal(err)
		}
		foreign := *c.p
		foreign.ProjectID = "proj_2"
		for _, m := range revealModes {
			for _, q := range []*Params{c.p, &foreign} {
				name := c.name + "/" + m.name
				if q == &foreign {
					name += "-untransformed"
				}
				b.Run(name, func(b *testing.B) {
					dst := make([]byte, 0, 2*len(enc))
					b.ReportAllocs()
					b.SetBytes(int64(len(enc)))
					for b.Loop() {
						if _, _, err := Reveal(dst[:0], enc, c.f, q, m.o); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// TestRevealMatchesDecrypt checks on the benchmark documents that Reveal
// without a mask gives Decrypt's output.
func TestRevealMatchesDecrypt(t *testing.T) {
	for _, c := range benchCases(t) {
		enc, err := Encrypt(nil, c.doc, c.f, c.p)
		if err != nil {
			t.Fatal(err)
		}
		got, counts, err := Reveal(nil, enc, c.f, c.p, RevealOptions{})
		if err != nil || !bytes.Equal(got, c.doc) || counts.Untransformed != 0 || counts.Opened == 0 {
			t.Errorf("Reveal(Encrypt(%s)) = %.60q…, %+v, %v; want the input", c.name, got, counts, err)
		}
	}
}
