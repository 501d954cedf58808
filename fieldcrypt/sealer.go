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
}

// newSealer counts n seals against the project's key and reads n nonces.
func (s *scratch) newSealer(p *Params, n int) (sealer, error) {
	version, aead, err := p.Keys.SealKey(n)
	if err != nil {
		return sealer{}, err
	}
	if err := checkAEAD(aead); err != nil {
		return sealer{}, err
	}
	s.cls = append(s.cls[:0], p.sealClass()...)
	s.cls64 = b64.AppendEncode(s.cls64[:0], s.cls)
	s.ad = appendAD(s.ad[:0], p.ProjectID, s.cls, version)
	s.nonces = slices.Grow(s.nonces[:0], n*nonceSize)[:n*nonceSize]
	if _, err := io.ReadFull(p.random(), s.nonces); err != nil {
		return sealer{}, err
	}
	return sealer{s: s, aead: aead, version: version}, nil
}

// appendToken seals plaintext with the next nonce and appends the token.
func (z *sealer) appendToken(dst, plaintext []byte) []byte {
	nonce := z.s.nonces[z.used*nonceSize : (z.used+1)*nonceSize]
	z.used++
	z.s.payload = seal(z.s.payload[:0], z.aead, nonce, plaintext, z.s.ad)
	return appendToken(dst, z.s.cls64, z.version, z.s.payload)
}

// tokenLen returns the length of the token for a plaintext of n bytes.
func (z *sealer) tokenLen(n int) int {
	return tokenLen(z.s.cls64, z.version, n)
}
