package keystore

import (
	"fmt"
	"hash/crc32"
	"io"
)

// API keys look like qk_<id12>_<secret38>:
//
//	qk_7f3k2m9q1x4c_<32 random base62 chars><6 base62 chars of CRC-32>
//
// The key id (everything before the last underscore) is public. The 32
// random base62 characters carry 190 bits of entropy; the checksum covers
// everything before it, so a mistyped or truncated key is refused without
// a store lookup and secret scanners can recognise a real key.
const (
	keyPrefix    = "qk_"
	keyIDRandLen = 12
	keyIDLen     = len(keyPrefix) + keyIDRandLen // "qk_" + 12
	secretRand   = 32
	checksumLen  = 6
	keyLen       = keyIDLen + 1 + secretRand + checksumLen
)

const (
	base36 = "0123456789abcdefghijklmnopqrstuvwxyz"
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// randomString returns n characters of alphabet, drawn without bias from r.
func randomString(r io.Reader, alphabet string, n int) (string, error) {
	out := make([]byte, 0, n)
	limit := byte(256 - 256%len(alphabet))
	var buf [64]byte
	for len(out) < n {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("keystore: random: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newAPIKey returns a fresh key id and the full key text.
func newAPIKey(r io.Reader) (id, key string, err error) {
	idRand, err := randomString(r, base36, keyIDRandLen)
	if err != nil {
		return "", "", err
	}
	secret, err := randomString(r, base62, secretRand)
	if err != nil {
		return "", "", err
	}
	id = keyPrefix + idRand
	body := id + "_" + secret
	var sum [checksumLen]byte
	putChecksum(sum[:], crc32.ChecksumIEEE([]byte(body)))
	return id, body + string(sum[:]), nil
}

// putChecksum writes c as exactly len(dst) base62 digits, most significant first.
func putChecksum(dst []byte, c uint32) {
	v := uint64(c)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

// parseAPIKey checks the shape and checksum of key and returns its id
// part. It does not allocate.
func parseAPIKey(key []byte) (id []byte, ok bool) {
	if len(key) != keyLen || string(key[:len(keyPrefix)]) != keyPrefix || key[keyIDLen] != '_' {
		return nil, false
	}
	for _, c := range key[len(keyPrefix):keyIDLen] {
		if !isBase36(c) {
			return nil, false
		}
	}
	for _, c := range key[keyIDLen+1:] {
		if !isBase62(c) {
			return nil, false
		}
	}
	var sum [checksumLen]byte
	body := key[:keyLen-checksumLen]
	putChecksum(sum[:], crc32.ChecksumIEEE(body))
	if string(sum[:]) != string(key[keyLen-checksumLen:]) {
		return nil, false
	}
	return key[:keyIDLen], true
}

func isBase36(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' }

func isBase62(c byte) bool { return isBase36(c) || c >= 'A' && c <= 'Z' }
