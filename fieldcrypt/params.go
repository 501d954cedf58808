package fieldcrypt

import (
	"crypto/rand"
	"io"
)

// Params is what one request's transformation needs besides the document.
// A Params may be shared by concurrent calls when its fields are.
type Params struct {
	// ProjectID is bound into every token's associated data, so a token
	// sealed for one project never opens for another.
	ProjectID string
	// Classification, on encryption, is the slug tagged into each token;
	// "" means "none". On decryption, "" accepts any tag; otherwise every
	// token must carry exactly this tag, else ErrClassificationMismatch
	// (Reveal leaves such a token as it is).
	Classification string
	// Keys gives the project's data keys. Required whenever a value is
	// sealed or opened.
	Keys Keyring
	// Rand is the nonce source. nil means crypto/rand. Tests inject a
	// deterministic reader; production must leave it nil or use a CSPRNG.
	Rand io.Reader
	// Allow, on decryption, is called with each token's classification
	// ("none" for untagged tokens) before the token is opened; a non-nil
	// error stops the call and is returned as it is (Reveal instead leaves
	// that token as it is and counts it). nil allows every classification.
	Allow func(cls string) error
	// BindFields, on encryption, binds each sealed value to its path in the
	// document: the token is marked bound (qanapi:<cls>:v<N>f:<payload>:$)
	// and its associated data holds the path of object keys from the root to
	// the value, array indices left out (items.*.card binds "items.card");
	// a value sealed by SealValue binds the empty path. A bound token then
	// opens only where it has that path, else ErrDecryptFailed, so moving
	// data to another field needs re-encryption. false seals unbound tokens,
	// as before. Decryption ignores BindFields: every token says whether it
	// is bound, and unbound tokens open wherever they are.
	BindFields bool
	// SubjectRef, on encryption, seals every value for one data subject:
	// the SubjectRefSize-byte keyed hash of the subject's id (never the id
	// itself), which the token carries (v<N>s<ref>). Keys must then be a
	// SubjectKeyring. nil seals ordinary tokens. Decryption ignores it:
	// each token says whether, and for which subject, it was sealed.
	SubjectRef []byte
	// MaxValues is the most values one call may seal or open; a call that
	// would do more fails with ErrTooManyValues before sealing or opening
	// any. Zero means no limit; a negative value refuses every call.
	MaxValues int
	// MaxOutput is the most bytes one call may append to dst; a call that
	// would append more fails with ErrOutputTooLarge, and Encrypt and
	// SealValue know it before sealing anything (a token's length is a
	// function of its plaintext's). Zero means no limit; a negative value
	// refuses every call.
	MaxOutput int

	// Values is set by Encrypt, Decrypt and DecryptAll: how many values
	// the call sealed or opened (0 when it failed). It is an output, for
	// events and metrics; callers need not reset it.
	Values int
}

// exceeds reports whether n is over limit, where a zero limit means none.
func exceeds(n, limit int) bool {
	return limit != 0 && n > limit
}

// random returns the nonce source of p.
func (p *Params) random() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}

// sealClass returns the classification tagged into sealed tokens.
func (p *Params) sealClass() string {
	if p.Classification == "" {
		return noneClass
	}
	return p.Classification
}
