package fieldcrypt

import (
	"crypto/cipher"
	"errors"
	"strconv"
)

// Subject tokens (crypto-shredding): a value sealed for a data subject is
// sealed under a key derived from the data key and a secret kept for that
// subject alone; destroying the secret makes every such token unreadable.
// The token carries the subject's reference, a keyed hash of its id (never
// the id): qanapi:<cls>:v<N>[f]s<ref>:<payload>:$, ref being 22 base64url
// characters (16 bytes). See docs/token-format.md.
const (
	subjectMark = 's'
	// SubjectRefSize is the length of a subject reference in bytes.
	SubjectRefSize = 16
	// subjectRef64Len is its length in base64url.
	subjectRef64Len = 22
	// adLabelSubject and adLabelBoundSubject start the associated data of
	// subject tokens, unbound and bound.
	adLabelSubject      = "qanapi-token-v1s"
	adLabelBoundSubject = "qanapi-token-v1fs"
)

// ErrSubjectErased means a value was to be sealed for, or a token opened
// of, a subject whose secret has been destroyed. Unlike ErrDecryptFailed
// it is returned as such (wrapped with the operation): erasure is a
// state the caller is told about, not a failure with detail to hide.
var ErrSubjectErased = errors.New("fieldcrypt: subject erased")

// SubjectKeyring is what fieldcrypt needs of a Keyring to seal and open
// subject tokens (Params.SubjectRef). A Keyring without it can open no
// subject token (ErrDecryptFailed) and seal none (errNoSubjectKeyring).
type SubjectKeyring interface {
	// SubjectSealKey is SealKey for the subject whose reference is ref
	// (SubjectRefSize bytes): the AEAD is the subject's key of the version.
	// For an erased subject it returns an error that reports true from a
	// method SubjectErased() bool, or ErrSubjectErased.
	SubjectSealKey(ref []byte, n int) (version uint32, aead cipher.AEAD, err error)
	// SubjectOpenKey is OpenKey for the subject whose reference is ref;
	// erased subjects give an error as SubjectSealKey's.
	SubjectOpenKey(version uint32, ref []byte) (cipher.AEAD, error)
}

// SubjectCache is a SubjectKeyring that can answer SubjectOpenKey from
// memory alone: cached is false when it would have to read its store.
// Past maxSubjectMisses in a call, only such answers are taken.
type SubjectCache interface {
	SubjectOpenKeyCached(version uint32, ref []byte) (aead cipher.AEAD, cached bool, err error)
}

// errNoSubjectKeyring means Params.SubjectRef was set with a Keyring that
// is not a SubjectKeyring, or a reference of the wrong size.
var errNoSubjectKeyring = errors.New("fieldcrypt: Params.SubjectRef needs a SubjectKeyring and a 16-byte reference")

// isErased reports whether err of a SubjectKeyring says the subject is
// erased.
func isErased(err error) bool {
	var e interface{ SubjectErased() bool }
	return errors.Is(err, ErrSubjectErased) || errors.As(err, &e) && e.SubjectErased()
}

// subjectSealKey returns the version and AEAD to seal n values for p's
// subject.
func subjectSealKey(p *Params, n int) (uint32, cipher.AEAD, error) {
	sk, ok := p.Keys.(SubjectKeyring)
	if !ok || len(p.SubjectRef) != SubjectRefSize {
		return 0, nil, errNoSubjectKeyring
	}
	v, aead, err := sk.SubjectSealKey(p.SubjectRef, n)
	if err != nil && isErased(err) {
		return 0, nil, ErrSubjectErased
	}
	return v, aead, err
}

// appendADSubject appends the reference part of a subject token's
// associated data: uint32be(16) ref.
func appendADSubject(dst, ref []byte) []byte {
	return appendADPath(dst, ref)
}

// sealLabel returns the associated data label of tokens sealed by p.
func sealLabel(bound, subject bool) string {
	switch {
	case bound && subject:
		return adLabelBoundSubject
	case subject:
		return adLabelSubject
	case bound:
		return adLabelBound
	}
	return adLabel
}

// appendSubjectToken appends a subject token; ref64 is the base64url of
// the subject reference.
func appendSubjectToken(dst, cls64 []byte, version uint32, bound bool, ref64, payload []byte) []byte {
	dst = append(dst, tokenPrefix...)
	dst = append(dst, cls64...)
	dst = append(dst, ":v"...)
	dst = strconv.AppendUint(dst, uint64(version), 10)
	if bound {
		dst = append(dst, boundMark)
	}
	dst = append(dst, subjectMark)
	dst = append(dst, ref64...)
	dst = append(dst, ':')
	dst = b64.AppendEncode(dst, payload)
	return append(dst, tokenSuffix...)
}

// cutSubject splits "<version>[f]s<ref64>" into "<version>[f]" and ref64;
// ref64 is nil when ver has no subject part.
func cutSubject(ver []byte) (rest, ref64 []byte) {
	n := len(ver) - subjectRef64Len - 1
	if n < 0 || ver[n] != subjectMark || !isB64(ver[n+1:]) {
		return ver, nil
	}
	return ver[:n], ver[n+1:]
}

// TokenSubjectRef returns the subject reference (base64url) of a token,
// or "" when tok is not a subject token. It does not decode or open.
func TokenSubjectRef(tok []byte) string {
	t, ok := splitToken(tok)
	if !ok || t.ref64 == nil {
		return ""
	}
	return string(t.ref64)
}

// maxSubjectMisses bounds the subject look-ups of one call that find no
// subject (see openSubjectKey); past it, only subjects a SubjectCache
// holds in memory open.
const maxSubjectMisses = 16

// openSubjectKey decodes ref64 into s.ref and returns the subject's AEAD
// of a version, asking the Keyring once per call and subject.
func (s *scratch) openSubjectKey(p *Params, version uint32, ref64 []byte) (cipher.AEAD, error) {
	ref, err := b64.AppendDecode(s.ref[:0], ref64)
	if s.ref = ref; err != nil || len(ref) != SubjectRefSize {
		return nil, ErrDecryptFailed
	}
	if s.subAEAD != nil && s.subVer == version && string(s.subRef64) == string(ref64) {
		return s.subAEAD, nil
	}
	sk, ok := p.Keys.(SubjectKeyring)
	if !ok {
		return nil, ErrDecryptFailed
	}
	// A token naming a subject the project does not have costs a look-up
	// in the store (a network round trip on etcd). Tokens planted in
	// data that answers carry could name thousands: the same reference is
	// looked up once per call, and after maxSubjectMisses references that
	// found nothing, only subjects held in memory open (the others fail).
	if string(s.missRef64) == string(ref64) {
		return nil, ErrDecryptFailed
	}
	var aead cipher.AEAD
	if s.subMisses < maxSubjectMisses {
		aead, err = sk.SubjectOpenKey(version, ref)
	} else if sc, ok := p.Keys.(SubjectCache); ok {
		// Past the misses: subjects in memory still open, nothing more is
		// read from the store.
		var cached bool
		if aead, cached, err = sc.SubjectOpenKeyCached(version, ref); !cached {
			return nil, ErrDecryptFailed
		}
	} else {
		return nil, ErrDecryptFailed
	}
	if err != nil {
		if isErased(err) {
			s.erased++
			return nil, ErrSubjectErased
		}
		s.subMisses++
		s.missRef64 = append(s.missRef64[:0], ref64...)
		return nil, ErrDecryptFailed
	}
	if checkAEAD(aead) != nil {
		return nil, ErrDecryptFailed
	}
	s.subVer, s.subAEAD, s.subRef64 = version, aead, append(s.subRef64[:0], ref64...)
	return aead, nil
}
