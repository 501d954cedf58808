package fieldcrypt

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzScanPrev is differential against the previous scanner, kept in
// prevscan_test.go with its own lexer. For any document and field list, in
// fields and tokens mode, with and without bound paths, the live scanner
// must give the same error (the same sentinel, so the same class) and, on
// success, the same spans and the same bound paths. Encrypt, bound and
// unbound, must give the bytes that the previous scanner's spans give when
// sealed with the same nonces.
func FuzzScanPrev(f *testing.F) {
	big, bigFields := body64K()
	f.Add([]byte(body300), fields300)
	f.Add(big[:2000], bigFields)
	f.Add([]byte(`{"a":[1,{"b":"x"}],"c":"\u00e9","d":[]}`), "a.*.b,c,d,a")
	f.Add([]byte(`[{"a.b":null},{"a":{"b":true}},"qanapi:bm9uZQ:v1:AAAA:$"]`), `*.a\.b,*.a.b,*`)
	f.Add([]byte(`{"Email":"x","email":"y","k\"ey":"\ud83d\ude00 é","n":-0.5e+7}`), "email,n")
	f.Add([]byte(`{"items":[1,{"card":"x"}],"t":[],"u":[{"v":1}]}`), "items.card,t.x,u.v,u.*.v")
	f.Add([]byte(`[{"ssn":"x"},{"\u017fsn":"y"}]`), "ssn,*.ssn")
	f.Add([]byte("{\"cafe\u0301\":1,\"x\":{\"caf\u00e9\":2}}"), "caf\u00e9,x.cafe\u0301")
	f.Add([]byte("{\"\u03aa\u0301\":1,\"J\u030c\":2}"), "\u0390,\u01f0")
	f.Add([]byte(`{"title\u0000x":1,"a\u0000":2,"b\u0000_c":3,"t\u0000itle":4}`), "title,a_b,b,x")
	keys := newTestKeyring(f, 1)
	f.Fuzz(func(t *testing.T, doc []byte, fields string) {
		fl, err := ParseFields(fields)
		if err != nil {
			fl = Fields{}
		}
		for mode := range 4 {
			tokens, bind := mode >= 2, mode%2 == 1
			fm := fl
			if tokens {
				fm = Fields{}
			}
			comparePrev(t, doc, fm, tokens, bind)
		}
		for _, bind := range []bool{false, true} {
			got, gerr := Encrypt(nil, doc, fl, &Params{ProjectID: "fuzz", Keys: keys, Rand: detRand(3), BindFields: bind})
			want, werr := prevEncrypt(doc, fl, &Params{ProjectID: "fuzz", Keys: keys, Rand: detRand(3), BindFields: bind})
			if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("Encrypt(%q, %q, bind %v) = %q, %v; previous scanner gives %q, %v", doc, fields, bind, got, gerr, want, werr)
			}
		}
	})
}

// comparePrev runs the live and the previous scanner on doc and fails t
// unless they agree on the error, the spans and the bound paths.
func comparePrev(t *testing.T, doc []byte, f Fields, tokens, bind bool) {
	t.Helper()
	var s scratch
	got := s.locate(doc, f, tokens, bind)
	var p prevScanner
	p.reset(doc, f, tokens, bind)
	want := p.scan()
	if got != want {
		t.Fatalf("locate(%q, tokens %v, bind %v) = %v, previous scanner gives %v", doc, tokens, bind, got, want)
	}
	if got != nil {
		return
	}
	if !slices.Equal(s.sc.spans, p.spans) {
		t.Fatalf("locate(%q, tokens %v, bind %v) spans = %v, previous scanner gives %v", doc, tokens, bind, s.sc.spans, p.spans)
	}
	if !bytes.Equal(s.sc.pathBuf, p.pathBuf) || !slices.Equal(s.sc.pathEnds, p.pathEnds) {
		t.Fatalf("locate(%q, tokens %v, bind %v) paths = %q %v, previous scanner gives %q %v",
			doc, tokens, bind, s.sc.pathBuf, s.sc.pathEnds, p.pathBuf, p.pathEnds)
	}
}

// prevEncrypt is Encrypt with the spans and bound paths of the previous
// scanner.
func prevEncrypt(doc []byte, f Fields, p *Params) ([]byte, error) {
	var ps prevScanner
	ps.reset(doc, f, false, p.BindFields)
	ps.strict = true
	if err := ps.scan(); err != nil {
		return nil, err
	}
	var s scratch
	s.sc.spans, s.sc.bind, s.sc.pathBuf, s.sc.pathEnds = ps.spans, ps.bind, ps.pathBuf, ps.pathEnds
	return s.encryptSpans(nil, doc, p)
}
