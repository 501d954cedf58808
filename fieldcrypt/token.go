package fieldcrypt

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
)

// Token syntax: qanapi:<cls>:v<N>:<payload>:$, or qanapi:<cls>:v<N>f:<payload>:$
// for a token bound to its field path, either followed after the version
// by s<ref> for a subject token (subject.go; see docs/token-format.md).
const (
	tokenPrefix = "qanapi:"
	tokenSuffix = ":$"
	boundMark   = 'f' // after the version: the token is bound to its path
	nonceSize   = 12
	tagSize     = 16
	noneClass   = "none"
	// adLabel starts the associated data and names the format version.
	adLabel = "qanapi-token-v1"
	// adLabelBound starts the associated data of a bound token, which ends
	// with the path.
	adLabelBound = "qanapi-token-v1f"
)

// b64 is base64url without padding, refusing non-zero trailing bits so that
// each byte string has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// b64Alphabet marks the bytes of the base64url alphabet.
var b64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// tokenParts are the still-encoded fields of a syntactically valid token.
type tokenParts struct {
	cls     []byte // base64url of the classification
	version uint32
	bound   bool   // v<N>f: the associated data holds the value's path
	payload []byte // base64url of nonce || ciphertext || tag
	ref64   []byte // v<N>[f]s<ref>: base64url of the subject reference; nil if none
}

// IsToken reports whether b (the bare text, without JSON quotes) has the
// token syntax: prefix "qanapi:", suffix ":$", a non-empty base64url
// classification, "v" and a decimal version from 1 to 2^32-1 without leading
// zeros, optionally followed by "f" (a token bound to its field path),
// optionally followed by "s" and 22 base64url characters (a subject token),
// and a non-empty base64url payload. It does no decoding.
func IsToken(b []byte) bool {
	_, ok := splitToken(b)
	return ok
}

// splitToken checks the syntax of a token and returns its parts.
func splitToken(b []byte) (t tokenParts, ok bool) {
	if len(b) < len(tokenPrefix)+len(tokenSuffix) ||
		!bytes.HasPrefix(b, []byte(tokenPrefix)) || !bytes.HasSuffix(b, []byte(tokenSuffix)) {
		return t, false
	}
	body := b[len(tokenPrefix) : len(b)-len(tokenSuffix)]
	cls, rest, found := bytes.Cut(body, []byte{':'})
	if !found {
		return t, false
	}
	ver, payload, found := bytes.Cut(rest, []byte{':'})
	if !found || !isB64(cls) || !isB64(payload) {
		return t, false
	}
	ver, t.ref64 = cutSubject(ver)
	if n := len(ver); n > 0 && ver[n-1] == boundMark {
		ver, t.bound = ver[:n-1], true
	}
	t.version, ok = parseVersion(ver)
	t.cls, t.payload = cls, payload
	return t, ok
}

// isB64 reports whether b is non-empty and all base64url characters.
func isB64(b []byte) bool {
	for _, c := range b {
		if !b64Alphabet[c] {
			return false
		}
	}
	return len(b) > 0
}

// parseVersion parses "v<N>" with 1 <= N <= 2^32-1 and no leading zero.
func parseVersion(b []byte) (uint32, bool) {
	if len(b) < 2 || len(b) > 11 || b[0] != 'v' || b[1] == '0' {
		return 0, false
	}
	var n uint64
	for _, c := range b[1:] {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n <= math.MaxUint32
}

// appendToken appends the token text for an encoded classification, a key
// version, the bound mark and a raw payload (nonce || ciphertext || tag).
func appendToken(dst, cls64 []byte, version uint32, bound bool, payload []byte) []byte {
	dst = append(dst, tokenPrefix...)
	dst = append(dst, cls64...)
	dst = append(dst, ":v"...)
	dst = strconv.AppendUint(dst, uint64(version), 10)
	if bound {
		dst = append(dst, boundMark)
	}
	dst = append(dst, ':')
	dst = b64.AppendEncode(dst, payload)
	return append(dst, tokenSuffix...)
}

// tokenLenSansVersion returns the length of the token appendToken writes
// for a plaintext of n bytes, less the digits of the version: a token's
// length is this plus versionDigits(version).
func tokenLenSansVersion(cls64 []byte, bound bool, n int) int {
	l := len(tokenPrefix) + len(cls64) + 2 + 1 + b64.EncodedLen(nonceSize+n+tagSize) + len(tokenSuffix)
	if bound {
		l++
	}
	return l
}

// subjectTokenLenSansVersion is tokenLenSansVersion for a subject token.
func subjectTokenLenSansVersion(cls64 []byte, bound bool, n int) int {
	return tokenLenSansVersion(cls64, bound, n) + 1 + subjectRef64Len
}

// versionDigits returns the number of decimal digits of a key version.
func versionDigits(version uint32) int {
	digits := 1
	for v := version; v >= 10; v /= 10 {
		digits++
	}
	return digits
}

// appendAD appends the associated data of a token:
//
//	"qanapi-token-v1" 0x00
//	uint32be(len(projectID)) projectID
//	uint32be(len(cls)) cls
//	uint32be(version)
//
// where cls is the decoded classification slug ("none" when untagged).
func appendAD(dst []byte, projectID string, cls []byte, version uint32) []byte {
	return appendADLabel(dst, adLabel, projectID, cls, version)
}

// appendBoundAD appends the associated data of a bound token:
//
//	"qanapi-token-v1f" 0x00
//	uint32be(len(projectID)) projectID
//	uint32be(len(cls)) cls
//	uint32be(version)
//	uint32be(len(path)) path
//
// where path is the value's bound path (see scanner.appendPath).
func appendBoundAD(dst []byte, projectID string, cls []byte, version uint32, path []byte) []byte {
	dst = appendADLabel(dst, adLabelBound, projectID, cls, version)
	return appendADPath(dst, path)
}

// appendADPath appends the path part of a bound token's associated data.
func appendADPath(dst, path []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(path)))
	return append(dst, path...)
}

// appendADLabel appends the associated data common to both kinds of token.
func appendADLabel(dst []byte, label, projectID string, cls []byte, version uint32) []byte {
	dst = append(dst, label...)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(projectID)))
	dst = append(dst, projectID...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(cls)))
	dst = append(dst, cls...)
	return binary.BigEndian.AppendUint32(dst, version)
}
