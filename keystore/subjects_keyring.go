package keystore

import (
	"crypto/cipher"
	"fmt"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// SubjectRef returns the reference of a subject id in this project: the
// keyed hash that tokens, the store and events carry instead of the id.
// It creates the project's first data key if there is none yet (the
// reference key is derived from version 1). A reference computed before
// is answered from memory without allocating.
func (k *Keyring) SubjectRef(subject []byte) ([SubjectRefSize]byte, error) {
	if r, ok := k.subjects.ref(subject); ok {
		return r, nil
	}
	if err := checkSubjectID(subject); err != nil {
		return [SubjectRefSize]byte{}, err
	}
	v1, err := k.version1()
	if err != nil {
		return [SubjectRefSize]byte{}, fmt.Errorf("keystore.SubjectRef %s: %w", k.project, err)
	}
	r := computeSubjectRef(subjectRefKey(v1.raw, k.project), string(subject))
	k.subjects.putRef(subject, r)
	return r, nil
}

// MaxSubjectLen is the longest subject id accepted, in bytes.
const MaxSubjectLen = 256

// checkSubjectID refuses an empty or overlong subject id.
func checkSubjectID(subject []byte) error {
	if len(subject) == 0 || len(subject) > MaxSubjectLen {
		return invalid("subject", "must be 1 to %d bytes", MaxSubjectLen)
	}
	return nil
}

// version1 returns data key version 1, creating it when the project has
// no data key yet.
func (k *Keyring) version1() (*dataKeyVersion, error) {
	if dk := (*k.versions.Load())[1]; dk != nil {
		return dk, nil
	}
	if _, _, err := k.SealKey(0); err != nil {
		return nil, err
	}
	if dk := (*k.versions.Load())[1]; dk != nil {
		return dk, nil
	}
	return nil, ErrNotFound
}

// SubjectSealKey is SealKey for the subject whose reference is ref: the
// current version, counting n seals against it, and the subject's AEAD
// of that version. A subject never seen gets a fresh secret; an erased one
// gives ErrSubjectErased (erasure is never undone by new data). It
// satisfies fieldcrypt.SubjectKeyring. With the subject cached it does
// not allocate.
func (k *Keyring) SubjectSealKey(ref []byte, n int) (uint32, cipher.AEAD, error) {
	e, err := k.subjectEntry(ref, true)
	if err != nil {
		return 0, nil, fmt.Errorf("keystore.SubjectSealKey %s: %w", k.project, err)
	}
	if e.secret == nil {
		return 0, nil, ErrSubjectErased
	}
	v, _, err := k.SealKey(n)
	if err != nil {
		return 0, nil, err
	}
	dk := (*k.versions.Load())[v]
	e.pending.Add(uint64(n))
	return v, e.aead(k.project, dk), nil
}

// SubjectOpenKey is OpenKey for the subject whose reference is ref:
// ErrNotFound for an unknown version or subject, ErrSubjectErased for an
// erased subject. It satisfies fieldcrypt.SubjectKeyring.
func (k *Keyring) SubjectOpenKey(v uint32, ref []byte) (cipher.AEAD, error) {
	if v < k.minDecrypt.Load() {
		return nil, ErrNotFound
	}
	dk := (*k.versions.Load())[v]
	if dk == nil {
		return nil, ErrNotFound
	}
	e, err := k.subjectEntry(ref, false)
	if err != nil {
		return nil, err
	}
	if e.secret == nil {
		return nil, ErrSubjectErased
	}
	return e.aead(k.project, dk), nil
}

// subjectEntry returns the subject whose reference is ref, from memory or
// the store; with create, a subject without a record gets one (and a
// secret) in the same transaction that finds none, so two instances never
// make two secrets. Without create, a subject without a record is
// ErrNotFound.
func (k *Keyring) subjectEntry(ref []byte, create bool) (*subjectEntry, error) {
	if len(ref) != SubjectRefSize {
		return nil, ErrNotFound
	}
	if e := k.subjects.entry(ref); e != nil {
		return e, nil
	}
	r := [SubjectRefSize]byte(ref)
	gen := k.subjects.generation()
	rec, found, err := k.s.loadSubject(k.project, r, create)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	secret, err := k.s.unwrapSubject(k.project, r, rec)
	if err != nil {
		return nil, err
	}
	return k.subjects.put(&subjectEntry{ref: r, secret: secret}, gen), nil
}

// SubjectOpenKeyCached is SubjectOpenKey from memory alone: cached is
// false when the subject is not in memory (nothing is read from the
// store). It satisfies fieldcrypt.SubjectCache.
func (k *Keyring) SubjectOpenKeyCached(v uint32, ref []byte) (aead cipher.AEAD, cached bool, err error) {
	if len(ref) != SubjectRefSize {
		return nil, false, nil
	}
	e := k.subjects.entry(ref)
	if e == nil {
		return nil, false, nil
	}
	if v < k.minDecrypt.Load() {
		return nil, true, ErrNotFound
	}
	dk := (*k.versions.Load())[v]
	if dk == nil {
		return nil, true, ErrNotFound
	}
	if e.secret == nil {
		return nil, true, ErrSubjectErased
	}
	return e.aead(k.project, dk), true, nil
}

// The Keyring answers subject look-ups from memory when asked to.
var _ fieldcrypt.SubjectCache = (*Keyring)(nil)
