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
	if err := s.locateStrict(doc, f, p.BindFields); err != nil {
		return dst, fmt.Errorf("fieldcrypt.Encrypt: %w", err)
	}
	out, err := s.encryptSpans(dst, doc, p)
	if err != nil {
		return dst, fmt.Errorf("fieldcrypt.Encrypt: %w", err)
	}
	return out, nil
}

// CheckEncrypt returns the error Encrypt would refuse doc with for f
// (invalid JSON, ErrCaseVariantKey, ErrFieldInArray…), or nil, without
// sealing anything: for previews.
func CheckEncrypt(doc []byte, f Fields) error {
	s := getScratch()
	defer putScratch(s)
	return s.locateStrict(doc, f, false)
}

// Decrypt is the reverse of Encrypt: every value at a path of f (each
// element, for an array) must be a token string (else ErrNotAToken) and is
// replaced by its plaintext. A token that fails to open gives the bare
// ErrDecryptFailed. On any error Decrypt returns dst unchanged.
func Decrypt(dst, doc []byte, f Fields, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(doc, f, false, true); err != nil {
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
	if err := s.locate(doc, Fields{}, true, true); err != nil {
		return dst, fmt.Errorf("fieldcrypt.DecryptAll: %w", err)
	}
	if len(s.sc.spans) == 0 && isScalar(doc) {
		return dst, fmt.Errorf("fieldcrypt.DecryptAll: %w", ErrNotAToken)
	}
	return s.decryptSpans(dst, doc, p, "fieldcrypt.DecryptAll")
}

// encryptSpans writes doc to dst with every located span sealed. The output
// size is known before anything is sealed, so the limits of p are applied
// first.
func (s *scratch) encryptSpans(dst, doc []byte, p *Params) ([]byte, error) {
	spans := s.sc.spans
	p.Values = 0
	if len(spans) == 0 {
		if exceeds(0, p.MaxValues) {
			return dst, ErrTooManyValues
		}
		if exceeds(len(doc), p.MaxOutput) {
			return dst, ErrOutputTooLarge
		}
		return append(dst, doc...), nil
	}
	z := s.newSealer(p)
	size := len(doc)
	for _, sp := range spans {
		size += z.tokenLenSansVersion(sp.end-sp.start) + 2 - (sp.end - sp.start)
	}
	size, err := z.begin(p, len(spans), size)
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, size)
	prev := 0
	for i, sp := range spans {
		dst = append(append(dst, doc[prev:sp.start]...), '"')
		dst = append(z.appendToken(dst, doc[sp.start:sp.end], s.sc.path(i)), '"')
		prev = sp.end
	}
	p.Values = len(spans)
	return append(dst, doc[prev:]...), nil
}

// decryptSpans writes doc to dst with every located token string opened,
// each with the path it is found at. A plaintext is shorter than its token,
// so the output is never longer than doc; p.MaxOutput is checked as the
// output grows.
func (s *scratch) decryptSpans(dst, doc []byte, p *Params, op string) ([]byte, error) {
	p.Values = 0
	if exceeds(len(s.sc.spans), p.MaxValues) {
		return dst, fmt.Errorf("%s: %w", op, ErrTooManyValues)
	}
	orig, limit := dst, len(doc)
	if p.MaxOutput > 0 {
		limit = min(limit, p.MaxOutput)
	}
	dst = slices.Grow(dst, limit)
	prev := 0
	for i, sp := range s.sc.spans {
		var err error
		dst = append(dst, doc[prev:sp.start]...)
		if dst, _, err = s.openToken(dst, doc[sp.start+1:sp.end-1], s.sc.path(i), p); err != nil {
			return orig, decryptErr(op, err)
		}
		if exceeds(len(dst)-len(orig), p.MaxOutput) {
			return orig, fmt.Errorf("%s: %w", op, ErrOutputTooLarge)
		}
		prev = sp.end
	}
	if exceeds(len(dst)-len(orig)+len(doc)-prev, p.MaxOutput) {
		return orig, fmt.Errorf("%s: %w", op, ErrOutputTooLarge)
	}
	p.Values = len(s.sc.spans)
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
