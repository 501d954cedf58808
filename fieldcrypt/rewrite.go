package fieldcrypt

import (
	"fmt"
	"slices"
)

// Encrypt appends to dst a copy of doc (JSON) in which every value at a path
// of f is replaced by a token string whose plaintext is the value's raw JSON
// text; an array-valued path has each element replaced instead. Bytes outside
// those values are copied unchanged. doc is validated first (see Validate);
// on any error Encrypt returns dst unchanged. It calls p.Keys.SealKey once,
// with the number of values to seal, and not at all when there are none.
func Encrypt(dst, doc []byte, f Fields, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(doc, f, false); err != nil {
		return dst, fmt.Errorf("fieldcrypt.Encrypt: %w", err)
	}
	out, err := s.encryptSpans(dst, doc, p)
	if err != nil {
		return dst, fmt.Errorf("fieldcrypt.Encrypt: %w", err)
	}
	return out, nil
}

// Decrypt is the reverse of Encrypt: every value at a path of f (each
// element, for an array) must be a token string (else ErrNotAToken) and is
// replaced by its plaintext. A token that fails to open gives the bare
// ErrDecryptFailed. On any error Decrypt returns dst unchanged.
func Decrypt(dst, doc []byte, f Fields, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(doc, f, false); err != nil {
		return dst, fmt.Errorf("fieldcrypt.Decrypt: %w", err)
	}
	for _, sp := range s.sc.spans {
		if !isTokenString(doc[sp.start:sp.end]) {
			return dst, fmt.Errorf("fieldcrypt.Decrypt: %w", ErrNotAToken)
		}
	}
	return s.decryptSpans(dst, doc, p, "fieldcrypt.Decrypt")
}

// DecryptAll decrypts without a field list (direct API): every JSON string
// of doc that is a token is replaced by its plaintext, other strings are
// left alone. A doc that is a scalar and not a token is ErrNotAToken.
func DecryptAll(dst, doc []byte, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(doc, Fields{}, true); err != nil {
		return dst, fmt.Errorf("fieldcrypt.DecryptAll: %w", err)
	}
	if len(s.sc.spans) == 0 && isScalar(doc) {
		return dst, fmt.Errorf("fieldcrypt.DecryptAll: %w", ErrNotAToken)
	}
	return s.decryptSpans(dst, doc, p, "fieldcrypt.DecryptAll")
}

// encryptSpans writes doc to dst with every located span sealed.
func (s *scratch) encryptSpans(dst, doc []byte, p *Params) ([]byte, error) {
	spans := s.sc.spans
	if len(spans) == 0 {
		return append(dst, doc...), nil
	}
	z, err := s.newSealer(p, len(spans))
	if err != nil {
		return dst, err
	}
	size := len(doc)
	for _, sp := range spans {
		size += z.tokenLen(sp.end-sp.start) + 2 - (sp.end - sp.start)
	}
	dst = slices.Grow(dst, size)
	prev := 0
	for _, sp := range spans {
		dst = append(append(dst, doc[prev:sp.start]...), '"')
		dst = append(z.appendToken(dst, doc[sp.start:sp.end]), '"')
		prev = sp.end
	}
	return append(dst, doc[prev:]...), nil
}

// decryptSpans writes doc to dst with every located token string opened.
func (s *scratch) decryptSpans(dst, doc []byte, p *Params, op string) ([]byte, error) {
	orig := dst
	dst = slices.Grow(dst, len(doc)) // a plaintext is shorter than its token
	prev := 0
	for _, sp := range s.sc.spans {
		var err error
		dst = append(dst, doc[prev:sp.start]...)
		if dst, _, err = s.openToken(dst, doc[sp.start+1:sp.end-1], p); err != nil {
			return orig, decryptErr(op, err)
		}
		prev = sp.end
	}
	return append(dst, doc[prev:]...), nil
}

// isTokenString reports whether the JSON value v is a string holding a token.
func isTokenString(v []byte) bool {
	return len(v) >= 2 && v[0] == '"' && IsToken(v[1:len(v)-1])
}

// isScalar reports whether the valid JSON doc is neither object nor array.
func isScalar(doc []byte) bool {
	i := skipSpace(doc, 0)
	return doc[i] != '{' && doc[i] != '['
}
