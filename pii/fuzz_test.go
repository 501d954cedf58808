package pii

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reasons are the phrases a Hint's Reason is made of.
var reasonPrefixes = []string{
	reasonEmail, reasonE164, reasonNational, reasonContext, reasonCard, reasonIBAN, reasonSSN, reasonIPv4, reasonIPv6,
	reasonJWT, reasonEntropy, reasonURLPassword, "field name suggests ", "PEM private key", "sdproxy API key format",
	"AWS access key id format",
}

// FuzzDetect: no panic; an error gives no hints; every hint has a known
// kind and a reason made of the fixed phrases, and is given once.
func FuzzDetect(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	for _, file := range files[:min(len(files), 20)] {
		if doc, err := os.ReadFile(file); err == nil {
			f.Add(doc)
		}
	}
	f.Add([]byte(`{"a\\.b":[1,"x@y.co",{"password":"p"}]}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		hints, err := Detect(doc, func(p string) bool { return strings.HasSuffix(p, ".0") })
		if err != nil {
			if hints != nil {
				t.Fatalf("Detect error %v with hints %v, want none", err, hints)
			}
			return
		}
		seen := map[hintKey]bool{}
		for _, h := range hints {
			if seen[hintKey{h.Path, h.Kind}] {
				t.Errorf("hint %+v given twice", h)
			}
			seen[hintKey{h.Path, h.Kind}] = true
			if !knownKind(h.Kind) {
				t.Errorf("hint %+v has an unknown kind", h)
			}
			if !knownReason(h.Reason) {
				t.Errorf("hint %+v has a reason not made of the fixed phrases", h)
			}
		}
	})
}

func knownKind(k string) bool {
	switch k {
	case KindEmail, KindPhone, KindCardNumber, KindIBAN, KindUSSSN, KindIPAddress, KindJWT, KindSecretLike:
		return true
	}
	return strings.HasPrefix(k, KindFieldNamePrefix)
}

func knownReason(r string) bool {
	r = strings.TrimSuffix(r, inText)
	for _, p := range reasonPrefixes {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	for _, p := range keyPrefixes {
		if r == p.what+" API key format" {
			return true
		}
	}
	return false
}
