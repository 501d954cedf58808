package fieldcrypt

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// linearKeys is the object size up to which duplicate keys are found as
// they come, by comparing each key with the previous ones; the keys of a
// larger object are checked all at once when it closes (see checkKeys).
const linearKeys = 16

// keySeed seeds the hash of checkKeys; being random per process, it leaves
// no way to choose keys that collide.
var keySeed = maphash.MakeSeed()

// noteKey records the unescaped key of the object whose keys start at base,
// comparing it with its siblings while the object is small. Fingerprints
// make most comparisons a single integer compare.
func (s *scanner) noteKey(base int, key []byte) error {
	fp := keyPrint(key)
	if base <= len(s.fps) && len(s.fps)-base < linearKeys {
		for j, f := range s.fps[base:] {
			if f == fp && bytes.Equal(s.keys[base+j], key) {
				return ErrDuplicateKey
			}
		}
	}
	s.keys = append(s.keys, key)
	s.fps = append(s.fps, fp)
	return nil
}

// keyPrint returns a fingerprint of key: equal keys have equal prints, and
// keys of up to 7 bytes have distinct prints.
func keyPrint(k []byte) uint64 {
	n := uint64(len(k))
	switch {
	case len(k) >= 8:
		return binary.LittleEndian.Uint64(k) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[len(k)-8:]), 23) ^ n<<56
	case len(k) >= 4:
		return uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[len(k)-4:]))<<24 | n<<56
	case len(k) > 0:
		return uint64(k[0]) | uint64(k[len(k)/2])<<8 | uint64(k[len(k)-1])<<16 | n<<56
	}
	return 0
}

// checkKeys finds duplicates among the keys of a large object, whose keys
// start at base, with an open-addressing hash set: linear time, whatever
// the keys. It reuses fps[base:] for the keys' full hashes.
func (s *scanner) checkKeys(base int) error {
	keys := s.keys[base:]
	if len(keys) <= linearKeys {
		return nil
	}
	hashes := s.fps[base:]
	size := 1 << bits.Len(uint(2*len(keys)-1)) // a power of two >= 2n
	if cap(s.table) < size {
		s.table = make([]uint32, size)
	}
	table := s.table[:size]
	clear(table)
	mask := uint64(size - 1)
	for j, k := range keys {
		h := maphash.Bytes(keySeed, k)
		hashes[j] = h
		for p := h & mask; ; p = (p + 1) & mask {
			e := table[p]
			if e == 0 {
				table[p] = uint32(j + 1)
				break
			}
			if hashes[e-1] == h && bytes.Equal(keys[e-1], k) {
				return ErrDuplicateKey
			}
		}
	}
	return nil
}
