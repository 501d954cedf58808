package fieldcrypt

import (
	"fmt"
	"strings"
	"testing"
)

func TestEncryptIndexedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	keys := newTestIndexKeys("proj_1")
	x, err := ParseIndex("user.email:lower_trim")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range allocParams(t) {
		f := mustFields(t, fields300)
		doc := []byte(body300)
		dst := make([]byte, 0, 4096)
		if _, err := EncryptIndexed(dst, doc, f, x, keys, p); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := EncryptIndexed(dst[:0], doc, f, x, keys, p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("EncryptIndexed(2 fields, 1 index, %s) allocs = %v, want 0", name, allocs)
		}
	}
}

func TestAppendIndexAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	k, _ := newTestIndexKeys("p").IndexKey("email")
	c, _ := compileIndexRule(IndexRule{Field: "email", Normalize: NormLowerTrim}, true)
	dst := make([]byte, 0, 64)
	v := []byte(`" \u00c9cole@Example.com "`)
	allocs := testing.AllocsPerRun(200, func() {
		b := getBidxScratch()
		b.appendIndex(dst[:0], k, &c, v) // AppendIndex less the parse of its rule
		putBidxScratch(b)
	})
	if allocs > 0 {
		t.Errorf("index of one value allocs = %v, want 0", allocs)
	}
}

// BenchmarkIndexValue is the cost of one index: normalisation, HMAC and
// base64url, the key cached (the budget is 1 µs).
func BenchmarkIndexValue(b *testing.B) {
	k, _ := newTestIndexKeys("p").IndexKey("email")
	for _, c := range []struct {
		name string
		norm Normalization
		v    string
	}{
		{"exact-17B", NormExact, `"ann@example.com"`},
		{"lower_trim-17B", NormLowerTrim, `" Ann@Example.com "`},
		{"lower-unicode-40B", NormLower, `"ÉCOLE ÉLÉMENTAIRE DE LA RUE DE L'ÉGLISE"`},
		{"digits-19B", NormDigits, `"4111 1111 1111 1111"`},
		{"lower-1KiB", NormLower, `"` + string(make1K()) + `"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, _ := compileIndexRule(IndexRule{Field: "email", Normalize: c.norm}, true)
			x := getBidxScratch()
			dst := make([]byte, 0, 64)
			v := []byte(c.v)
			b.ReportAllocs()
			for b.Loop() {
				x.appendIndex(dst[:0], k, &r, v)
			}
		})
	}
}

func make1K() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = 'A' + byte(i%26)
	}
	return b
}

// BenchmarkEncryptIndexed is BenchmarkEncrypt's 300-byte body with one of
// its two fields indexed, next to the same call without the index.
func BenchmarkEncryptIndexed(b *testing.B) {
	keys := newTestIndexKeys("proj_1")
	p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
	f := mustFields(b, fields300)
	doc := []byte(body300)
	for _, c := range []struct{ name, index string }{
		{"300B-2fields-0index", ""},
		{"300B-2fields-1index", "user.email:lower_trim"},
		{"300B-2fields-2index", "user.email:lower_trim,order.card:digits"},
	} {
		var x Index
		if c.index != "" {
			var err error
			if x, err = ParseIndex(c.index); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := EncryptIndexed(dst[:0], doc, f, x, keys, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncryptIndexedAllocsLongKeys: keys longer than any stack buffer,
// escaped keys and an old sibling to replace allocate nothing either.
func TestEncryptIndexedAllocsLongKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	keys := newTestIndexKeys("proj_1")
	path := "customer_information_record_section.primary_email_address_of_the_customer"
	x, err := ParseIndex(path + ":lower")
	if err != nil {
		t.Fatal(err)
	}
	f := mustFields(t, path)
	doc := []byte(`{"customer_information_record_section":{"\u0070rimary_email_address_of_the_customer":"A@B",` +
		`"PRIMARY_EMAIL_ADDRESS_OF_THE_CUSTOMER_BIDX":"old","other":[1,{"x":"\"y\""}]}}`)
	p := testParams(t)
	dst := make([]byte, 0, 4096)
	out, err := EncryptIndexed(dst, doc, f, x, keys, p)
	if err != nil || !strings.Contains(string(out), `"primary_email_address_of_the_customer_bidx":"`) || strings.Contains(string(out), "old") {
		t.Fatalf("EncryptIndexed = %s, %v", out, err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := EncryptIndexed(dst[:0], doc, f, x, keys, p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("EncryptIndexed(long and escaped keys) allocs = %v, want 0", allocs)
	}
}

// wideIndexCase is a document of about 1 MiB (records the rules do not
// name) with 16 indexed fields, each a path of two keys that hold dots:
// 64 paths with their nested spellings, the most a request may name.
func wideIndexCase(tb testing.TB) (doc []byte, f Fields, x Index) {
	tb.Helper()
	var paths []string
	doc = append(doc, `{"items":[`...)
	for i := 0; len(doc) < 1<<20; i++ {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = fmt.Appendf(doc, `{"id":%d,"name":"customer %d","tags":["a","b"],"note":"%s"}`, i, i, strings.Repeat("n", 40))
	}
	doc = append(doc, ']')
	for k := range 16 {
		paths = append(paths, fmt.Sprintf(`g%d\.a.e%d\.m`, k, k))
		doc = fmt.Appendf(doc, `,"g%d.a":{"e%d.m":"v%d@example.com"}`, k, k, k)
	}
	doc = append(doc, '}')
	f = mustFields(tb, strings.Join(paths, ","))
	x, err := ParseIndex(strings.Join(paths, ","))
	if err != nil {
		tb.Fatal(err)
	}
	return doc, f, x
}

// BenchmarkEncryptIndexedWide is EncryptIndexed on wideIndexCase, next
// to Encrypt of the same fields: what walking 64 indexed paths costs on
// top of sealing.
func BenchmarkEncryptIndexedWide(b *testing.B) {
	doc, f, x := wideIndexCase(b)
	keys := newTestIndexKeys("proj_1")
	p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
	dst := make([]byte, 0, 2*len(doc))
	for _, c := range []struct {
		name string
		x    Index
	}{{"encrypt", Index{}}, {"indexed", x}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := EncryptIndexed(dst[:0], doc, f, c.x, keys, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLongUnicodeKeys is a body of about 256 KiB of keys of 120
// accented letters, composed or decomposed, none of them named, under 64
// named paths of the same shape: what the checks for keys that are a
// named key in another letter case or normalisation cost, at their worst.
func BenchmarkLongUnicodeKeys(b *testing.B) {
	for _, c := range []struct{ name, letter string }{{"composed", "\u00e9"}, {"decomposed", "e\u0301"}} {
		var names []string
		for i := range MaxFields {
			names = append(names, strings.Repeat("\u00e9", 120)+fmt.Sprint(i))
		}
		f, err := FieldsFromList(names)
		if err != nil {
			b.Fatal(err)
		}
		doc := []byte("{")
		for i := 0; len(doc) < 256<<10; i++ {
			doc = fmt.Appendf(doc, `"%sx%d":1,`, strings.Repeat(c.letter, 120), i)
		}
		doc = append(doc, `"z":0}`...)
		p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
		dst := make([]byte, 0, 2*len(doc))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := Encrypt(dst[:0], doc, f, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// markKeysCase is an object of 4,096 keys "k<mark>_bi<mark>dx" (marks
// U+0300 to U+033F) beside the indexed values, under index rules whose
// sibling names are k<mark>_bidx: keys that a signature blind to marks
// would take for old siblings, each to be normalised and compared.
func markKeysCase(tb testing.TB, rules int) (doc []byte, f Fields, x Index) {
	tb.Helper()
	var paths []string
	doc = append(doc, `{"u":{"z":0`...)
	for i := range rules {
		paths = append(paths, "u.k"+string(rune(0x300+i)))
		doc = fmt.Appendf(doc, `,"k%c":"v"`, rune(0x300+i))
	}
	for m1 := range 64 {
		for m2 := range 64 {
			doc = fmt.Appendf(doc, `,"k%c_bi%cdx":1`, rune(0x300+m1), rune(0x300+m2))
		}
	}
	doc = append(doc, "}}"...)
	f = mustFields(tb, strings.Join(paths, ","))
	x, err := ParseIndex(strings.Join(paths, ","))
	if err != nil {
		tb.Fatal(err)
	}
	return doc, f, x
}

// TestIndexMarkKeysAllocs: old siblings looked for among keys that differ
// from the sibling names by marks allocate nothing (an attacker review
// had each key normalised with an allocation, per rule).
func TestIndexMarkKeysAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	doc, f, x := markKeysCase(t, 8)
	p := testParams(t)
	keys := newTestIndexKeys("proj_1")
	dst := make([]byte, 0, 2*len(doc))
	if _, err := EncryptIndexed(dst, doc, f, x, keys, p); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { EncryptIndexed(dst[:0], doc, f, x, keys, p) }); n > 0 {
		t.Errorf("EncryptIndexed of 4,096 keys that differ from 8 sibling names by marks allocates %v times, want none", n)
	}
}

// BenchmarkIndexMarkKeys is markKeysCase with 1 and 64 rules.
func BenchmarkIndexMarkKeys(b *testing.B) {
	for _, rules := range []int{1, 64} {
		doc, f, x := markKeysCase(b, rules)
		p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
		keys := newTestIndexKeys("proj_1")
		dst := make([]byte, 0, 2*len(doc))
		b.Run(fmt.Sprint(rules, "rules"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := EncryptIndexed(dst[:0], doc, f, x, keys, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSeparatorKeys is a body of one key of 1 MiB of underscores and
// a letter, and one of many keys of 1,000 underscores and a digit, under
// 64 named paths: what the checks for keys with other word separators
// cost at their worst (an attacker review had the first letter looked for
// once per path: 22-26 MB/s).
func BenchmarkSeparatorKeys(b *testing.B) {
	var names []string
	for i := range MaxFields {
		names = append(names, fmt.Sprintf("x%02d", i))
	}
	f, err := FieldsFromList(names)
	if err != nil {
		b.Fatal(err)
	}
	long := []byte(`{"` + strings.Repeat("_", 1<<20) + `y":1}`)
	many := []byte("{")
	for i := 0; len(many) < 1<<20; i++ {
		many = fmt.Appendf(many, `"%s%d":1,`, strings.Repeat("_", 1000), i)
	}
	many = append(many, `"z":0}`...)
	dotted := []byte("{")
	for i := 0; len(dotted) < 1<<20; i++ {
		dotted = fmt.Appendf(dotted, `"%sy.%d":1,`, strings.Repeat("_", 1000), i)
	}
	dotted = append(dotted, `"z":0}`...)
	p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
	for _, c := range []struct {
		name string
		doc  []byte
	}{{"one-long-key", long}, {"many-keys", many}, {"many-dotted-keys", dotted}} {
		dst := make([]byte, 0, 2*len(c.doc))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.doc)))
			for b.Loop() {
				if _, err := Encrypt(dst[:0], c.doc, f, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
