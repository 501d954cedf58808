package fieldcrypt

import "crypto/cipher"

// Keyring is what fieldcrypt needs of one project's data keys.
// Implementations must be safe for concurrent use.
type Keyring interface {
	// SealKey returns the version and AEAD (AES-256-GCM, 12-byte nonce) to
	// seal n more values with. The implementation counts the n seals against
	// the version's limit and may rotate to a new version before answering.
	SealKey(n int) (version uint32, aead cipher.AEAD, err error)
	// OpenKey returns the AEAD of a version, or an error when the version
	// is unknown or may no longer decrypt.
	OpenKey(version uint32) (cipher.AEAD, error)
}
