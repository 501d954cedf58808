// Package fieldcrypt seals and opens sensitive JSON field values as
// self-describing tokens (qanapi:<cls>:v<N>:<payload>:$, or v<N>f for a
// token bound to its field) and rewrites JSON documents so that named fields
// are encrypted or decrypted in one pass.
//
// It depends on no other sdproxy package: the data keys it uses come through
// the small Keyring interface declared here.
//
// # Tokens
//
// A token's payload is AES-256-GCM(nonce, plaintext, associated data) where
// the plaintext is the value's raw JSON text and the associated data binds the
// format version, the project id, the classification and the key version,
// and, for a token sealed with Params.BindFields, the value's path in the
// document (object keys, array indices left out), so that the token opens
// nowhere else. docs/token-format.md specifies the format byte by byte, with
// test vectors that the tests check. Nonces are 12 bytes from crypto/rand
// (Params.Rand in tests); one call reads all the nonces it needs in a single
// read and uses each once.
//
// # Rewriting
//
// Encrypt and Decrypt validate the document and find the named values in the
// same single pass (Validate: RFC 8259, UTF-8, at most MaxDepth levels, no
// duplicate keys), then write the output in one append loop. Nothing is
// returned on error: dst comes back with its original length. Path rules
// (see Fields):
//   - a named value of any type is replaced whole; an array-valued one has
//     each element replaced instead;
//   - absent paths are skipped;
//   - when paths overlap (a and a.b, a and *, a path listed twice), the outer
//     value wins and is sealed once; nothing inside it is matched again.
//
// # Revealing
//
// Reveal is the decryption of the response phase, which must not fail a
// response for one bad value: at the named paths, a token that opens is
// replaced by its plaintext, or with RevealOptions.Mask by a masked JSON
// string (Mask: ShowFirst and ShowLast characters shown, each other one
// replaced by Char; a value no longer than ShowFirst+ShowLast is hidden
// whole; DefaultMask shows the last 4); a value that is not a token passes
// unchanged; a token that does not open (another project, tampered, an
// unknown key version, bound to another path, a classification refused by
// Params.Classification or Params.Allow) stays exactly as it was and is
// counted in RevealCounts.Untransformed. Only an invalid document or a limit
// is an error.
//
// # Limits
//
// Sealing multiplies the size of small values (a 2-byte array element
// becomes a token string of about 60 bytes). Params.MaxValues and
// Params.MaxOutput cap the values one call seals or opens and the bytes it
// writes (for Reveal, MaxValues counts the token strings found, opened or
// not). Encrypt and SealValue compute their output size from the plaintext
// lengths and refuse (ErrTooManyValues, ErrOutputTooLarge) before sealing
// anything, and before asking the Keyring for a key unless only the digits
// of the key version push the size over. Decrypt and DecryptAll check the
// count before opening any token and the size as the output grows.
//
// # Hot path
//
// Buffers come from a sync.Pool; with a pre-sized dst, Encrypt, Decrypt and
// Reveal do not allocate, with bound tokens or not, masked or not
// (TestEncryptAllocs, TestDecryptAllocs and TestRevealAllocs pin it). No
// slice of the caller's documents is kept after a call returns.
package fieldcrypt
