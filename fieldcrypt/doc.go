// Package fieldcrypt seals and opens sensitive JSON field values as
// self-describing tokens (qanapi:<cls>:v<N>:<payload>:$) and rewrites JSON
// documents so that named fields are encrypted or decrypted in one pass.
//
// It depends on no other sdproxy package: the data keys it uses come through
// the small Keyring interface declared here.
package fieldcrypt
