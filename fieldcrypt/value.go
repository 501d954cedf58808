package fieldcrypt

import (
	"fmt"
	"slices"
)

// SealValue appends to dst the token (bare text, not JSON-quoted) of one
// JSON value, as the direct API does for a scalar or for data without
// fields. rawJSON must be valid JSON (see Validate); whitespace around the
// value is not part of the plaintext. On error dst is returned unchanged.
func SealValue(dst, rawJSON []byte, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(rawJSON, Fields{}, false); err != nil {
		return dst, fmt.Errorf("fieldcrypt.SealValue: %w", err)
	}
	z, err := s.newSealer(p, 1)
	if err != nil {
		return dst, fmt.Errorf("fieldcrypt.SealValue: %w", err)
	}
	raw := trimSpace(rawJSON)
	dst = slices.Grow(dst, z.tokenLen(len(raw)))
	return z.appendToken(dst, raw), nil
}

// OpenToken appends to dst the plaintext (raw JSON) of one bare token and
// returns it with the token's classification. Params.Classification and
// Params.Allow apply as for Decrypt. On error dst is returned unchanged.
func OpenToken(dst, token []byte, p *Params) (plain []byte, cls string, err error) {
	s := getScratch()
	defer putScratch(s)
	out, c, err := s.openToken(dst, token, p)
	if err != nil {
		return dst, "", decryptErr("fieldcrypt.OpenToken", err)
	}
	return out, string(c), nil
}

// Validate checks that doc is one valid JSON value (RFC 8259, UTF-8) with at
// most MaxDepth levels of nesting and no duplicate object keys. It returns
// ErrInvalidJSON, ErrTooDeep or ErrDuplicateKey. Encrypt and Decrypt apply
// the same checks in the same single pass that finds their fields.
func Validate(doc []byte) error {
	s := getScratch()
	defer putScratch(s)
	return s.locate(doc, Fields{}, false)
}

// trimSpace removes JSON whitespace around b.
func trimSpace(b []byte) []byte {
	b = b[skipSpace(b, 0):]
	for len(b) > 0 {
		switch b[len(b)-1] {
		case ' ', '\n', '\r', '\t':
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}
