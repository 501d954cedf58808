package fieldcrypt

import (
	"crypto/cipher"
	"fmt"
)

// openToken appends the plaintext of the bare token tok, found at path, to
// dst and returns the token's classification (valid until the scratch is
// reused). path matters only if the token is bound.
func (s *scratch) openToken(dst, tok, path []byte, p *Params) ([]byte, []byte, error) {
	t, ok := splitToken(tok)
	if !ok {
		return dst, nil, ErrNotAToken
	}
	cls, err := b64.AppendDecode(s.cls[:0], t.cls)
	if s.cls = cls; err != nil {
		return dst, nil, ErrDecryptFailed
	}
	if err := s.allow(p, cls); err != nil {
		return dst, nil, err
	}
	var aead cipher.AEAD
	if t.ref64 != nil {
		aead, err = s.openSubjectKey(p, t.version, t.ref64)
	} else {
		aead, err = s.openKey(p, t.version)
	}
	if err != nil {
		return dst, nil, err
	}
	if s.payload, err = b64.AppendDecode(s.payload[:0], t.payload); err != nil {
		return dst, nil, ErrDecryptFailed
	}
	switch {
	case t.ref64 != nil:
		s.ad = appendADLabel(s.ad[:0], sealLabel(t.bound, true), p.ProjectID, cls, t.version)
		s.ad = appendADSubject(s.ad, s.ref)
		if t.bound {
			s.ad = appendADPath(s.ad, path)
		}
	case t.bound:
		s.ad = appendBoundAD(s.ad[:0], p.ProjectID, cls, t.version, path)
	default:
		s.ad = appendAD(s.ad[:0], p.ProjectID, cls, t.version)
	}
	n := len(dst)
	if dst, err = open(dst, aead, s.payload, s.ad); err != nil {
		return dst, nil, err
	}
	if s.check.reset(dst[n:], Fields{}, false, false); s.check.scan() != nil {
		return dst[:n], nil, ErrDecryptFailed
	}
	return dst, cls, nil
}

// allow applies the classification rules of p to a token's classification.
func (s *scratch) allow(p *Params, cls []byte) error {
	if p.Classification != "" && string(cls) != p.Classification {
		return ErrClassificationMismatch
	}
	if p.Allow == nil {
		return nil
	}
	return p.Allow(s.clsString(p, cls))
}

// clsString returns cls as a string, allocating once per distinct value.
func (s *scratch) clsString(p *Params, cls []byte) string {
	switch {
	case p.Classification != "":
		return p.Classification
	case !s.clsSeen || s.clsStr != string(cls):
		s.clsStr, s.clsSeen = string(cls), true
	}
	return s.clsStr
}

// openKey returns the AEAD of a key version, asking the Keyring once per call.
func (s *scratch) openKey(p *Params, version uint32) (cipher.AEAD, error) {
	if s.aead != nil && s.ver == version {
		return s.aead, nil
	}
	aead, err := p.Keys.OpenKey(version)
	if err != nil || checkAEAD(aead) != nil {
		return nil, ErrDecryptFailed
	}
	s.ver, s.aead = version, aead
	return aead, nil
}

// decryptErr wraps err with the operation, except ErrDecryptFailed, which is
// always bare, and errors of Params.Allow, which are returned as they are.
func decryptErr(op string, err error) error {
	switch err {
	case ErrDecryptFailed:
		return err
	case ErrNotAToken, ErrClassificationMismatch, ErrSubjectErased, ErrTooManyValues, ErrOutputTooLarge, errBadAEAD:
		return fmt.Errorf("%s: %w", op, err)
	}
	return err
}
