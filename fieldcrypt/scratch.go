package fieldcrypt

import (
	"crypto/cipher"
	"sync"
)

// maxPooled is the largest buffer capacity a pooled scratch keeps.
const maxPooled = 1 << 20

// scratch holds the reusable buffers of one call. It is pooled so that the
// hot path allocates nothing but the output.
type scratch struct {
	sc      scanner // the document
	check   scanner // decrypted plaintexts
	ad      []byte  // associated data
	cls     []byte  // classification slug
	cls64   []byte  // its base64url form
	nonces  []byte  // nonces of this call, each used once
	payload []byte  // nonce || ciphertext || tag
	plain   []byte  // an opened plaintext before masking (Reveal)
	ref64   []byte  // base64url of the subject reference being sealed
	ref     []byte  // decoded subject reference of the token being opened

	// Per-call caches, cleared before the scratch goes back to the pool.
	ver     uint32
	aead    cipher.AEAD
	clsStr  string
	clsSeen bool
	// The last subject key opened: version, base64url reference, AEAD.
	subVer   uint32
	subRef64 []byte
	subAEAD  cipher.AEAD
	erased   int // tokens of erased subjects met (Reveal's count)
	// subMisses counts the subject look-ups of this call that found no
	// subject, and missRef64 is the last one's reference: see
	// maxSubjectMisses.
	subMisses int
	missRef64 []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// getScratch takes a scratch from the pool.
func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch forgets the call's data and returns s to the pool, unless its
// buffers grew too large to keep.
func putScratch(s *scratch) {
	s.sc.release()
	s.check.release()
	s.ver, s.aead, s.clsStr, s.clsSeen = 0, nil, "", false
	s.subVer, s.subAEAD, s.subRef64, s.erased = 0, nil, s.subRef64[:0], 0
	s.subMisses, s.missRef64 = 0, s.missRef64[:0]
	for _, b := range [][]byte{s.ad, s.cls, s.cls64, s.nonces, s.payload, s.plain} {
		if cap(b) > maxPooled {
			return
		}
	}
	if cap(s.sc.spans) > maxPooled/16 || cap(s.sc.keys) > maxPooled/16 || cap(s.sc.table) > maxPooled/4 ||
		cap(s.sc.pathBuf) > maxPooled || cap(s.sc.pathEnds) > maxPooled/8 ||
		cap(s.sc.decoded) > maxPooled || cap(s.sc.nfd) > maxPooled || cap(s.sc.nfc) > maxPooled ||
		cap(s.check.decoded) > maxPooled || cap(s.check.nfd) > maxPooled || cap(s.check.nfc) > maxPooled {
		return
	}
	scratchPool.Put(s)
}

// release drops the scanner's references to the caller's bytes.
func (s *scanner) release() {
	s.doc, s.paths = nil, nil
}

// locate validates doc and collects the spans of the values to transform,
// and their bound paths if bind is set.
func (s *scratch) locate(doc []byte, f Fields, tokens, bind bool) error {
	s.sc.reset(doc, f, tokens, bind)
	return s.sc.scan()
}

// locateStrict is locate for encrypting: it also refuses a document in
// which a path meets an array of objects where it names a key
// (ErrFieldInArray), rather than leave what may be that field unsealed.
func (s *scratch) locateStrict(doc []byte, f Fields, bind bool) error {
	s.sc.reset(doc, f, false, bind)
	s.sc.strict = true
	return s.sc.scan()
}
