package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// body300 is a ~300-byte request body with two sensitive fields.
const body300 = `{"user":{"id":12345,"name":"Ada Lovelace","email":"ada@example.com",` +
	`"address":{"street":"12 Analytical Engine Road","city":"London","zip":"N1 9GU"}},` +
	`"order":{"id":"ord_8f14e45fceea167a","items":[{"sku":"bk-001","qty":1,"price":19.99},` +
	`{"sku":"pn-204","qty":2,"price":4.5}],"card":"4111 1111 1111 1111","currency":"GBP"}}`

const fields300 = "user.email,order.card"

// body64K returns a ~64 KiB document (an array of records) and a field list
// naming 10 fields of it.
func body64K() ([]byte, string) {
	var b strings.Builder
	b.WriteString(`{"records":[`)
	for i := 0; b.Len() < 64<<10-300; i++ {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"Customer number %d","email":"user%d@example.com",`+
			`"tags":["alpha","beta","gamma"],"balance":%d.25,"active":true,"note":"%s"}`,
			i, i, i, i*37, strings.Repeat("lorem ipsum ", 8))
	}
	b.WriteString(`],"owner":{"ssn":"123-45-6789","email":"o@example.com"}}`)
	var fields []string
	for i := range 8 {
		fields = append(fields, fmt.Sprintf("records.%d.email", i*40))
	}
	fields = append(fields, "owner.ssn", "owner.email")
	return []byte(b.String()), strings.Join(fields, ",")
}

// allocParams are the Params of the allocation pins: unbound and bound
// tokens, with limits that are checked but not reached.
func allocParams(t *testing.T) map[string]*Params {
	keys := newTestKeyring(t, 1)
	return map[string]*Params{
		"unbound": {ProjectID: "proj_1", Keys: keys},
		"bound":   {ProjectID: "proj_1", Keys: keys, BindFields: true, MaxValues: 2, MaxOutput: 4096},
	}
}

func TestEncryptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for name, p := range allocParams(t) {
		f := mustFields(t, fields300)
		doc := []byte(body300)
		dst := make([]byte, 0, 4096)
		if _, err := Encrypt(dst, doc, f, p); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := Encrypt(dst[:0], doc, f, p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("Encrypt(2 fields, %d bytes, %s) allocs = %v, want 0", len(doc), name, allocs)
		}
	}
}

func TestDecryptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for name, p := range allocParams(t) {
		f := mustFields(t, fields300)
		enc, err := Encrypt(nil, []byte(body300), f, p)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 4096)
		for fn, decrypt := range map[string]func() ([]byte, error){
			"Decrypt":    func() ([]byte, error) { return Decrypt(dst[:0], enc, f, p) },
			"DecryptAll": func() ([]byte, error) { return DecryptAll(dst[:0], enc, p) },
		} {
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := decrypt(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("%s(2 fields, %s) allocs = %v, want 0", fn, name, allocs)
			}
		}
	}
}

func BenchmarkSealValue(b *testing.B) {
	p := &Params{ProjectID: "proj_1", Keys: newTestKeyring(b, 1)}
	raw := []byte(`"` + strings.Repeat("x", 30) + `"`) // 32 bytes
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := SealValue(dst[:0], raw, p); err != nil {
			b.Fatal(err)
		}
	}
}

// bodyWide returns a ~64 KiB object of 500 members with long keys and long
// string values: the duplicate check of large objects and the scanning of
// long strings dominate.
func bodyWide() []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := range 500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"attribute_%04d_of_the_record":"%s %d"`, i, strings.Repeat("value text ", 9), i)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// BenchmarkValidate is the baseline: the cost of reading a body that is
// not transformed.
func BenchmarkValidate(b *testing.B) {
	big, _ := body64K()
	var indented bytes.Buffer
	if err := json.Indent(&indented, big, "", "  "); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		doc    []byte
		suffix string
	}{
		{[]byte(body300), ""},
		{big, ""},
		{bodyWide(), "-wide"},
		{indented.Bytes(), "-indented"}, // the same records, pretty-printed
	} {
		doc, name := c.doc, sizeName(c.doc)+c.suffix
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if err := Validate(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSONValid is a reference point for the machine: the
// standard library's validator on the 64 KiB document.
func BenchmarkEncodingJSONValid(b *testing.B) {
	doc, _ := body64K()
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(c.doc))
			b.ReportAllocs()
			b.SetBytes(int64(len(c.doc)))
			for b.Loop() {
				if _, err := Encrypt(dst[:0], c.doc, c.f, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, c := range benchCases(b) {
		enc, err := Encrypt(nil, c.doc, c.f, c.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			dst := make([]byte, 0, len(enc))
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := Decrypt(dst[:0], enc, c.f, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchCase struct {
	name string
	doc  []byte
	f    Fields
	p    *Params
}

// benchCases are the documents of BenchmarkEncrypt and BenchmarkDecrypt,
// each also with bound tokens (Params.BindFields) to measure the cost of
// binding.
func benchCases(b testing.TB) []benchCase {
	keys := newTestKeyring(b, 1)
	p := &Params{ProjectID: "proj_1", Keys: keys}
	bound := &Params{ProjectID: "proj_1", Keys: keys, BindFields: true}
	big, bigFields := body64K()
	return []benchCase{
		{"300B-2fields", []byte(body300), mustFields(b, fields300), p},
		{"64KiB-10fields", big, mustFields(b, bigFields), p},
		{"300B-2fields-bound", []byte(body300), mustFields(b, fields300), bound},
		{"64KiB-10fields-bound", big, mustFields(b, bigFields), bound},
	}
}

func sizeName(doc []byte) string {
	if len(doc) >= 1<<10 {
		return fmt.Sprintf("%dKiB", len(doc)>>10)
	}
	return fmt.Sprintf("%dB", len(doc))
}
