package fieldcrypt

import "crypto/cipher"

// checkAEAD refuses an AEAD whose sizes differ from AES-GCM's.
func checkAEAD(aead cipher.AEAD) error {
	if aead == nil || aead.NonceSize() != nonceSize || aead.Overhead() != tagSize {
		return errBadAEAD
	}
	return nil
}

// seal appends nonce || ciphertext || tag of plaintext to dst. Every token
// payload is made here (and the Wycheproof vectors run through it).
func seal(dst []byte, aead cipher.AEAD, nonce, plaintext, ad []byte) []byte {
	dst = append(dst, nonce...)
	return aead.Seal(dst, nonce, plaintext, ad)
}

// open appends the plaintext of payload (nonce || ciphertext || tag) to dst.
// Any failure is ErrDecryptFailed, and dst comes back unchanged.
func open(dst []byte, aead cipher.AEAD, payload, ad []byte) ([]byte, error) {
	if len(payload) < nonceSize+tagSize {
		return dst, ErrDecryptFailed
	}
	out, err := aead.Open(dst, payload[:nonceSize], payload[nonceSize:], ad)
	if err != nil {
		return dst, ErrDecryptFailed
	}
	return out, nil
}
