package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"
)

var (
	metaMasterCheck = []byte("master_check")
	masterCheckText = []byte("sdproxy master key check v1")
)

// derive returns a 32-byte subkey of the master key for one purpose.
func derive(master []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, purpose, 32)
	if err != nil {
		panic("keystore: hkdf: " + err.Error()) // only for lengths sha256 cannot give
	}
	return k
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("keystore: aes: " + err.Error()) // keys here are always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("keystore: gcm: " + err.Error())
	}
	return aead
}

// seal encrypts plaintext under key with a random nonce: nonce || ct || tag.
func seal(r io.Reader, key, plaintext, ad []byte) ([]byte, error) {
	aead := newGCM(key)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, fmt.Errorf("keystore: random: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, ad), nil
}

// open is the reverse of seal.
func open(key, sealed, ad []byte) ([]byte, error) {
	aead := newGCM(key)
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrWrongMasterKey
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// checkMasterKey stores a sealed check value on first use and verifies it
// afterwards, so a wrong master key stops start-up instead of serving
// garbage.
func (s *Store) checkMasterKey(meta kvBucket) error {
	key := derive(s.opts.MasterKey, "sdproxy master check v1")
	if v := meta.Get(metaMasterCheck); v != nil {
		if _, err := open(key, v, masterCheckText); err != nil {
			return ErrWrongMasterKey
		}
		s.masterChecked = true
		return nil
	}
	sealed, err := seal(s.opts.Rand, key, masterCheckText, masterCheckText)
	if err != nil {
		return err
	}
	return meta.Put(metaMasterCheck, sealed)
}
