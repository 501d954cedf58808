package fieldcrypt

import (
	"fmt"
	"slices"
)

// SealValue appends to dst the token (bare text, not JSON-quoted) of one
// JSON value, as the direct API does for a scalar or for data without
// fields. rawJSON must be valid JSON (see Validate); whitespace around the
// value is not part of the plaintext. With Params.BindFields the token is
// bound to the empty path: it opens with OpenToken, or with DecryptAll as
// the whole document (or an element of a top-level array), but not under an
// object key. Params.MaxValues and
// Params.MaxOutput apply (the output is the token). On error dst is
// returned unchanged.
func SealValue(dst, rawJSON []byte, p *Params) ([]byte, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(rawJSON, Fields{}, false, false); err != nil {
		return dst, fmt.Errorf("fieldcrypt.SealValue: %w", err)
	}
	raw := trimSpace(rawJSON)
	z := s.newSealer(p)
	size, err := z.begin(p, 1, z.tokenLenSansVersion(len(raw)))
	if err != nil {
		return dst, fmt.Errorf("fieldcrypt.SealValue: %w", err)
	}
	dst = slices.Grow(dst, size)
	return z.appendToken(dst, raw, nil), nil
}

// OpenToken appends to dst the plaintext (raw JSON) of one bare token and
// returns it with the token's classification. Params.Classification,
// Params.Allow, Params.MaxValues and Params.MaxOutput apply as for Decrypt.
// A bound token opens only if bound to the empty path (SealValue's). On
// error dst is returned unchanged.
func OpenToken(dst, token []byte, p *Params) (plain []byte, cls string, err error) {
	if exceeds(1, p.MaxValues) {
		return dst, "", fmt.Errorf("fieldcrypt.OpenToken: %w", ErrTooManyValues)
	}
	s := getScratch()
	defer putScratch(s)
	out, c, err := s.openToken(dst, token, nil, p)
	if err != nil {
		return dst, "", decryptErr("fieldcrypt.OpenToken", err)
	}
	if exceeds(len(out)-len(dst), p.MaxOutput) {
		return dst, "", fmt.Errorf("fieldcrypt.OpenToken: %w", ErrOutputTooLarge)
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
	return s.locate(doc, Fields{}, false, false)
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
