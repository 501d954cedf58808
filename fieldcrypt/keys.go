package fieldcrypt

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// linearKeys is the object size up to which duplicate keys are found as
// they come, by comparing each key with the previous ones that share its
// bloom bit (see findKey); the keys of a larger object are checked all at
// once when it closes (see checkKeys).
const linearKeys = 16

// keySeed seeds the hash of checkKeys; being random per process, it leaves
// no way to choose keys that collide.
var keySeed = maphash.MakeSeed()

// keyEntry is the unescaped key of an open object and its print. It holds
// offsets rather than a slice so that appending one stores no pointer (and
// costs no write barrier): the key is doc[at:at+n], or, when it was
// unescaped, decoded[^at:^at+n] (see keyAt).
type keyEntry struct {
	at, n int
	fp    uint64 // keyPrint, or the full hash once checkKeys ran
}

// keyAt returns the key of e.
func (s *scanner) keyAt(e keyEntry) []byte {
	if e.at < 0 {
		return s.decoded[^e.at : ^e.at+e.n]
	}
	return s.doc[e.at : e.at+e.n]
}

// findKey reports ErrDuplicateKey if key, of print fp, is among the keys of
// the object whose keys start at base, while the object is small: the keys
// of a larger one are checked when it closes. The scanner calls it only
// when the key's bloom bits were all set already: for the few keys whose
// bits siblings happen to share, or most keys of a large object.
func (s *scanner) findKey(base int, key []byte, fp uint64) error {
	if len(s.keys)-base >= linearKeys {
		return nil
	}
	for _, k := range s.keys[base:] {
		if k.fp == fp && bytes.Equal(s.keyAt(k), key) {
			return ErrDuplicateKey
		}
	}
	return nil
}

// keyBits returns the two bits of an object's 64-bit bloom that stand for a
// key of print fp, from a multiplicative hash of the print. In an object of
// 7 keys, the chance that some key finds both its bits set by its siblings
// is about 8% (with one bit per key it would be about 30%).
func keyBits(fp uint64) uint64 {
	h := fp * 0x9e3779b97f4a7c15
	return 1<<(h>>58) | 1<<(h>>52&63)
}

// keyPrint returns a fingerprint of key: equal keys have equal prints. A
// key of up to 7 bytes prints as its bytes, a little-endian word, with its
// length in the top byte, so such keys have distinct prints (the scanner
// computes this one inline for a key it read as one word); a longer key
// mixes its first and last 8 bytes and its length.
func keyPrint(k []byte) uint64 {
	n := uint64(len(k))
	switch {
	case len(k) >= 8:
		return binary.LittleEndian.Uint64(k) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[len(k)-8:]), 23) ^ n<<56
	case cap(k) >= 8: // one word, the bytes past the key masked out
		return binary.LittleEndian.Uint64(k[:8])&(1<<(8*n)-1) | n<<56
	}
	fp := n << 56
	for j, c := range k {
		fp |= uint64(c) << (8 * j)
	}
	return fp
}

// checkKeys finds duplicates among the keys of a large object, whose keys
// start at base, with an open-addressing hash set: linear time, whatever
// the keys. It replaces their prints by their full hashes.
func (s *scanner) checkKeys(base int) error {
	keys := s.keys[base:]
	if len(keys) <= linearKeys {
		return nil
	}
	size := 1 << bits.Len(uint(2*len(keys)-1)) // a power of two >= 2n
	if cap(s.table) < size {
		s.table = make([]uint32, size)
	}
	table := s.table[:size]
	clear(table)
	mask := uint64(size - 1)
	for j := range keys {
		k := s.keyAt(keys[j])
		h := maphash.Bytes(keySeed, k)
		keys[j].fp = h
		for p := h & mask; ; p = (p + 1) & mask {
			e := table[p]
			if e == 0 {
				table[p] = uint32(j + 1)
				break
			}
			if keys[e-1].fp == h && bytes.Equal(s.keyAt(keys[e-1]), k) {
				return ErrDuplicateKey
			}
		}
	}
	return nil
}
