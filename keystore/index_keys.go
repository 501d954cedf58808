package keystore

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// Blind-index keys. An index must not change when the project rotates its
// data key (every stored index would stop matching), nor when the master
// key changes. So a field's index key is derived from the project's data
// key version 1, which is never deleted (a minimum decryption version
// above it only stops it opening tokens):
//
//	HKDF-SHA-256(secret = data key v1, salt = none,
//	             info = "sdproxy blind index v1" 0x00 project id 0x00 field path, 32 bytes)
//
// The field path is in canonical spelling (items.*.email for every element
// of items). Different fields and projects get unrelated keys.

// indexKeyInfo starts the HKDF info of every index key.
const indexKeyInfo = "sdproxy blind index v1"

// IndexKey returns the 32-byte blind-index key of field (a path in
// canonical spelling) for the keyring's project, creating data key
// version 1 if the project has none yet. It unwraps the key each time:
// callers cache the result.
func (k *Keyring) IndexKey(field string) ([]byte, error) {
	for range 2 {
		if dk := (*k.versions.Load())[1]; dk != nil {
			raw, err := open(k.s.kek, dk.rec.Wrapped, wrapAD(k.project, 1))
			if err != nil {
				return nil, fmt.Errorf("keystore.IndexKey %s: %w", k.project, ErrWrongMasterKey)
			}
			return deriveIndexKey(raw, k.project, field), nil
		}
		cur := k.current.Load()
		if cur != nil {
			break
		}
		if err := k.reserve(nil, 0); err != nil {
			return nil, fmt.Errorf("keystore.IndexKey %s: %w", k.project, err)
		}
	}
	return nil, fmt.Errorf("keystore.IndexKey %s: data key version 1: %w", k.project, ErrNotFound)
}

// deriveIndexKey is the HKDF of the comment above.
func deriveIndexKey(dataKey []byte, project, field string) []byte {
	info := indexKeyInfo + "\x00" + project + "\x00" + field
	key, err := hkdf.Key(sha256.New, dataKey, nil, info, 32)
	if err != nil {
		panic("keystore: hkdf: " + err.Error()) // only for lengths sha256 cannot give
	}
	return key
}
