package keystore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Subjects (crypto-shredding). A value sealed for a data subject is sealed
// under a key derived from the data key of its version and a random secret
// of that subject (SubjectKey); erasing the subject replaces its record by
// a tombstone, so no copy of any of its tokens opens again. Subjects are
// known only by their reference, a keyed hash of the subject id
// (SubjectRef): the id itself is never stored. See docs/erasure.md and
// docs/token-format.md.

// bucketSubjects holds "<project id>/<ref, base64url>" → subjectRecord.
var bucketSubjects = []byte("subjects")

// SubjectRefSize is the length of a subject reference in bytes.
const SubjectRefSize = 16

// subjectSecretSize is the length of a subject's secret in bytes.
const subjectSecretSize = 32

// subjectRecord is a subject as stored.
type subjectRecord struct {
	// Wrapped is nonce || AES-256-GCM(KEK, secret) || tag; nil once erased.
	Wrapped   []byte     `json:"wrapped,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ErasedAt  *time.Time `json:"erased_at,omitempty"`
	// Sealed counts the values sealed for the subject, as flushed.
	Sealed uint64 `json:"sealed"`
}

// SubjectState says what the store holds of a subject.
type SubjectState string

// The states of a subject.
const (
	SubjectNone   SubjectState = "none"   // no value was ever sealed for it
	SubjectActive SubjectState = "active" // it has a secret
	SubjectErased SubjectState = "erased" // its secret was destroyed
)

// SubjectInfo describes a subject; it never holds the subject id or its
// secret.
type SubjectInfo struct {
	ProjectID string
	// Ref is the subject reference, base64url: what tokens and events show.
	Ref       string
	State     SubjectState
	CreatedAt *time.Time
	ErasedAt  *time.Time
	// Sealed is how many values were sealed for the subject: the stored
	// count plus this instance's unflushed seals. Other instances' seals
	// since their last flush are not included (see docs/erasure.md).
	Sealed uint64
}

func subjectID(project string, ref [SubjectRefSize]byte) string {
	return project + "/" + base64.RawURLEncoding.EncodeToString(ref[:])
}

// subjectWrapAD binds a wrapped secret to its project and reference.
func subjectWrapAD(project string, ref [SubjectRefSize]byte) []byte {
	ad := append([]byte("sdproxy-subject-v1\x00"), project...)
	return append(append(ad, 0), ref[:]...)
}

// subjectRefKey derives the project's subject-reference key from its data
// key of version 1, which never changes (see docs/token-format.md).
func subjectRefKey(dataKeyV1 []byte, project string) []byte {
	k, err := hkdf.Key(sha256.New, dataKeyV1, nil, "sdproxy-subject-ref-v1\x00"+project, 32)
	if err != nil {
		panic("keystore: hkdf: " + err.Error())
	}
	return k
}

// computeSubjectRef is HMAC-SHA-256(refKey, subject) truncated to 16 bytes.
func computeSubjectRef(refKey []byte, subject string) (ref [SubjectRefSize]byte) {
	m := hmac.New(sha256.New, refKey)
	io.WriteString(m, subject)
	copy(ref[:], m.Sum(nil))
	return ref
}

// SubjectKey derives the AES-256 key of a subject's tokens of one version:
// HKDF-SHA256(IKM = data key, salt = subject secret, info =
// "qanapi-subject-key-v1" 0x00 uint32be(len(project)) project ref).
func SubjectKey(dataKey, secret []byte, project string, ref []byte) []byte {
	info := []byte("qanapi-subject-key-v1\x00")
	info = binary.BigEndian.AppendUint32(info, uint32(len(project)))
	info = append(append(info, project...), ref...)
	k, err := hkdf.Key(sha256.New, dataKey, secret, string(info), 32)
	if err != nil {
		panic("keystore: hkdf: " + err.Error())
	}
	return k
}

// readSubject reads a subject's record; ok is false when there is none.
func readSubject(tx kvTx, id string) (rec subjectRecord, ok bool, err error) {
	v := tx.Bucket(bucketSubjects).Get([]byte(id))
	if v == nil {
		return rec, false, nil
	}
	return rec, true, json.Unmarshal(v, &rec)
}

// unwrapSubject returns the secret of a record, or nil when it is erased.
func (s *Store) unwrapSubject(project string, ref [SubjectRefSize]byte, rec subjectRecord) ([]byte, error) {
	if rec.ErasedAt != nil || rec.Wrapped == nil {
		return nil, nil
	}
	secret, err := open(s.kek, rec.Wrapped, subjectWrapAD(project, ref))
	if err != nil {
		return nil, fmt.Errorf("subject %s: %w", subjectID(project, ref), ErrWrongMasterKey)
	}
	return secret, nil
}

// newSubjectRecord makes a record with a fresh secret.
func (s *Store) newSubjectRecord(project string, ref [SubjectRefSize]byte) (subjectRecord, error) {
	secret := make([]byte, subjectSecretSize)
	if _, err := io.ReadFull(s.opts.Rand, secret); err != nil {
		return subjectRecord{}, fmt.Errorf("keystore: random: %w", err)
	}
	wrapped, err := seal(s.opts.Rand, s.kek, secret, subjectWrapAD(project, ref))
	if err != nil {
		return subjectRecord{}, err
	}
	return subjectRecord{Wrapped: wrapped, CreatedAt: s.now()}, nil
}

// decodeRef decodes the base64url of a subject reference.
func decodeRef(ref64 string) (ref [SubjectRefSize]byte, ok bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(ref64)
	if err != nil || len(b) != SubjectRefSize {
		return ref, false
	}
	return [SubjectRefSize]byte(b), true
}

// cutLast splits "<project>/<ref>" at its last slash.
func cutLast(key string) (project, ref string, ok bool) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}
