package fieldcrypt

import "errors"

// Errors about the document or the field list. Encrypt and Decrypt wrap them
// with the operation ("fieldcrypt.Encrypt: ..."); test them with errors.Is.
var (
	// ErrInvalidJSON means the document is not valid JSON (RFC 8259, UTF-8).
	ErrInvalidJSON = errors.New("fieldcrypt: invalid JSON")
	// ErrTooDeep means arrays and objects nest deeper than MaxDepth.
	ErrTooDeep = errors.New("fieldcrypt: JSON nested too deep")
	// ErrDuplicateKey means an object holds the same key twice (compared
	// after unescaping), which different parsers would read differently.
	ErrDuplicateKey = errors.New("fieldcrypt: duplicate object key")
	// ErrCaseVariantKey means an object holds a key that equals a named
	// field's but for letter case ("TITLE" with "title" named), or is the
	// same text in another Unicode normalisation ("e" and U+0301 for "é"),
	// or has other word separators ("userSsn" for "user_ssn"): parsers
	// that match keys without regard to case (Go's encoding/json, ASP.NET),
	// by canonical equivalence (Swift), or after converting key styles
	// (Swift's .convertFromSnakeCase, Rails and Node middleware) would
	// read it as the named field, in plaintext.
	ErrCaseVariantKey = errors.New("fieldcrypt: a key differs from a named field only in letter case, Unicode normalisation or word separators")
	// ErrDottedKey means an object holds a key with dots that spells a
	// named path from there ("profile.email" with profile.email named), or
	// all of it and more ("email.x" with email): stores that expand dotted
	// keys (MongoDB's updates, Elasticsearch) would put its value at or
	// under the named field, in plaintext.
	ErrDottedKey = errors.New("fieldcrypt: a key with dots spells a named field's path")
	// ErrFieldInArray means that, encrypting, a named path goes on by an
	// object key where the document has an array holding objects or
	// arrays (items.card with "items": [{"card": …}], or [[{"card": …}]]):
	// the key may be in every element, and the path names none of them
	// (items.*.card would).
	ErrFieldInArray = errors.New("fieldcrypt: a named field's path meets an array of objects where it names a key")
	// ErrInvalidFields means a field list could not be parsed.
	ErrInvalidFields = errors.New("fieldcrypt: invalid field list")
)

// Errors about tokens.
var (
	// ErrNotAToken means a value that had to be a token is not a JSON string
	// holding the syntax qanapi:<cls>:v<N>:<payload>:$.
	ErrNotAToken = errors.New("fieldcrypt: not a token")
	// ErrDecryptFailed means a token could not be opened: tampered, sealed for
	// another project or classification, unknown key version, bad base64, or
	// bound to another field path than the one it is found at.
	// It is always returned bare and never carries detail.
	ErrDecryptFailed = errors.New("fieldcrypt: decrypt failed")
	// ErrClassificationMismatch means Params.Classification was set for a
	// decryption and a token is tagged with another classification.
	ErrClassificationMismatch = errors.New("fieldcrypt: classification mismatch")
)

// Errors about the limits of one call (Params.MaxValues, Params.MaxOutput).
// They are returned as soon as a limit would be crossed, before the output
// is built; like the others, they are wrapped with the operation.
var (
	// ErrTooManyValues means a call would seal or open more values than
	// Params.MaxValues.
	ErrTooManyValues = errors.New("fieldcrypt: too many values")
	// ErrOutputTooLarge means a call would append more bytes to dst than
	// Params.MaxOutput.
	ErrOutputTooLarge = errors.New("fieldcrypt: output too large")
)

// errBadAEAD means the Keyring returned an AEAD that is not AES-GCM shaped
// (12-byte nonce, 16-byte tag). It is a programming error of the Keyring.
var errBadAEAD = errors.New("fieldcrypt: keyring AEAD must take 12-byte nonces and add 16-byte tags")

// Errors about blind indexes (EncryptIndexed, AppendIndex). Those about one
// field's value come inside an *IndexError that names the field.
var (
	// ErrInvalidIndex means an index rule or list could not be parsed, or
	// names a field that is not encrypted.
	ErrInvalidIndex = errors.New("fieldcrypt: invalid index rule")
	// ErrIndexNotScalar means an indexed field holds an object or array:
	// only strings, numbers, booleans and null can be indexed.
	ErrIndexNotScalar = errors.New("fieldcrypt: an indexed field holds an object or array")
	// ErrIndexNotEncrypted means an indexed value is not sealed whole by
	// the call (it sits inside an outer value that is), so no index may
	// be written beside it.
	ErrIndexNotEncrypted = errors.New("fieldcrypt: an indexed field is inside a value encrypted whole")
)
