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
	// token must carry exactly this tag, else ErrClassificationMismatch.
	Classification string
	// Keys gives the project's data keys. Required whenever a value is
	// sealed or opened.
	Keys Keyring
	// Rand is the nonce source. nil means crypto/rand. Tests inject a
	// deterministic reader; production must leave it nil or use a CSPRNG.
	Rand io.Reader
	// Allow, on decryption, is called with each token's classification
	// ("none" for untagged tokens) before the token is opened; a non-nil
	// error stops the call and is returned as it is. nil allows every
	// classification.
	Allow func(cls string) error
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
