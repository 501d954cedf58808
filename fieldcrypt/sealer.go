package fieldcrypt

import (
	"crypto/cipher"
	"io"
	"slices"
)

// sealer seals the values of one call under one key version.
//
// Nonces: the call asks the Keyring for its n seals at once and reads the n
// 12-byte nonces in a single read from Params.Rand (crypto/rand by default)
// into a buffer that serves this call only; each nonce is used once, in
// order, so reuse of the buffer can never repeat a nonce.
type sealer struct {
	s       *scratch
	aead    cipher.AEAD
	version uint32
	used    int
	bound   bool // Params.BindFields: tokens carry their path in the AD
	adLen   int  // length of s.ad without the path of a bound value
	subject bool // Params.SubjectRef: subject tokens (subject.go)
}

// newSealer prepares the classification of p's tokens, so that
// tokenLenSansVersion works before begin.
func (s *scratch) newSealer(p *Params) sealer {
	s.cls = append(s.cls[:0], p.sealClass()...)
	s.cls64 = b64.AppendEncode(s.cls64[:0], s.cls)
	z := sealer{s: s, bound: p.BindFields, subject: p.SubjectRef != nil}
	if z.subject {
		s.ref64 = b64.AppendEncode(s.ref64[:0], p.SubjectRef)
	}
	return z
}

// begin applies the limits of p to n values whose output is size bytes
// plus the digits of the key version in each token, then counts n seals
// against the project's key and reads n nonces. It returns the exact output
// size. An output too large even with a one-digit version is refused before
// the Keyring is asked.
func (z *sealer) begin(p *Params, n, size int) (int, error) {
	if exceeds(n, p.MaxValues) {
		return 0, ErrTooManyValues
	}
	if exceeds(size+n, p.MaxOutput) {
		return 0, ErrOutputTooLarge
	}
	var version uint32
	var aead cipher.AEAD
	var err error
	if z.subject {
		version, aead, err = subjectSealKey(p, n)
	} else {
		version, aead, err = p.Keys.SealKey(n)
	}
	if err != nil {
		return 0, err
	}
	if err := checkAEAD(aead); err != nil {
		return 0, err
	}
	if size += n * versionDigits(version); exceeds(size, p.MaxOutput) {
		return 0, ErrOutputTooLarge
	}
	s := z.s
	s.ad = appendADLabel(s.ad[:0], sealLabel(z.bound, z.subject), p.ProjectID, s.cls, version)
	if z.subject {
		s.ad = appendADSubject(s.ad, p.SubjectRef)
	}
	s.nonces = slices.Grow(s.nonces[:0], n*nonceSize)[:n*nonceSize]
	if _, err := io.ReadFull(p.random(), s.nonces); err != nil {
		return 0, err
	}
	z.aead, z.version, z.adLen = aead, version, len(s.ad)
	return size, nil
}

// appendToken seals plaintext, found at path, with the next nonce and
// appends the token. path is ignored unless the sealer binds paths.
func (z *sealer) appendToken(dst, plaintext, path []byte) []byte {
	nonce := z.s.nonces[z.used*nonceSize : (z.used+1)*nonceSize]
	z.used++
	if z.bound {
		z.s.ad = appendADPath(z.s.ad[:z.adLen], path)
	}
	z.s.payload = seal(z.s.payload[:0], z.aead, nonce, plaintext, z.s.ad)
	if z.subject {
		return appendSubjectToken(dst, z.s.cls64, z.version, z.bound, z.s.ref64, z.s.payload)
	}
	return appendToken(dst, z.s.cls64, z.version, z.bound, z.s.payload)
}

// tokenLenSansVersion returns the length of the token for a plaintext of n
// bytes, less the digits of the key version (not known before begin).
func (z *sealer) tokenLenSansVersion(n int) int {
	if z.subject {
		return subjectTokenLenSansVersion(z.s.cls64, z.bound, n)
	}
	return tokenLenSansVersion(z.s.cls64, z.bound, n)
}
