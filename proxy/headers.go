package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// Request headers of the Qanapi-compatible surface.
const (
	HeaderAuthorization  = "X-Qanapi-Authorization"
	HeaderMode           = "X-Qanapi-Mode"
	HeaderFields         = "X-Qanapi-Fields"
	HeaderClassification = "X-Qanapi-Classification"
	HeaderDestination    = "X-Qanapi-Destination"
	HeaderGeofence       = "X-Qanapi-Geofence"
	// HeaderResponseFields names fields of the upstream's answer to
	// transform for this one call (a route's response rule does it for
	// every call); HeaderResponseMode is decrypt (default) or encrypt.
	HeaderResponseFields = "X-Qanapi-Response-Fields"
	HeaderResponseMode   = "X-Qanapi-Response-Mode"
	// HeaderIndex asks for blind indexes of encrypted fields (index.go).
	HeaderIndex = "X-Qanapi-Index"
	// HeaderSubject seals the request's values for a data subject, so that
	// erasing the subject makes them unreadable (proxy/subject.go).
	HeaderSubject = "X-Qanapi-Subject"
)

// HeaderUntransformed, on an answer whose response phase ran, counts the
// tokens left as they were (not openable by this key or project).
const HeaderUntransformed = "X-Qanapi-Untransformed"

// Response headers of the Qanapi-compatible surface.
const (
	HeaderRequestID = httpapi.HeaderRequestID
	HeaderErrorCode = httpapi.HeaderErrorCode
)

// Names of the headers set on every request or answer, in fasthttp's
// normalised spelling, for SetCanonical: no name is copied and normalised
// per request.
var (
	canonRequestID      = []byte(HeaderRequestID)
	canonLimit          = []byte("Ratelimit-Limit")
	canonRemaining      = []byte("Ratelimit-Remaining")
	canonReset          = []byte("Ratelimit-Reset")
	canonRetryAfter     = []byte("Retry-After")
	canonForwardedFor   = []byte("X-Forwarded-For")
	canonForwardedProto = []byte("X-Forwarded-Proto")
	canonForwardedHost  = []byte("X-Forwarded-Host")
	canonServerTiming   = []byte(HeaderServerTiming)
)

// qanapiPrefix starts every header that is ours and never forwarded, in
// fasthttp's normalised spelling. Names are compared in any letter case all
// the same: a server set not to normalise them must neither forward nor
// ignore x-qanapi-fields.
const qanapiPrefix = "X-Qanapi-"

// qHeaders holds the X-Qanapi-* request headers. The slices point into the
// request: valid only during the handler.
type qHeaders struct {
	auth, mode, fields, class, dest, geofence, respFields, respMode, index, subject []byte
	// dup names a header that was sent more than once.
	dup string
	// unknown is the first X-Qanapi-* header that is not one of ours
	// (a misspelling must not let plaintext through).
	unknown []byte
	// trailer is the first X-Qanapi-* header announced in Trailer or
	// sent in the trailer section of a chunked body: it would come after
	// the body it is about, and fasthttp keeps it out of the headers, so
	// a field it names would go through in plaintext.
	trailer []byte
}

// qanapiHeaders are the request headers parseHeaders reads, in the order
// of qHeaders.slot.
var qanapiHeaders = [...]string{
	HeaderAuthorization, HeaderMode, HeaderFields, HeaderClassification, HeaderDestination, HeaderGeofence,
	HeaderResponseFields, HeaderResponseMode, HeaderIndex, HeaderSubject,
}

// slot returns the field of q for header i of qanapiHeaders.
func (q *qHeaders) slot(i int) *[]byte {
	return [...]*[]byte{&q.auth, &q.mode, &q.fields, &q.class, &q.dest, &q.geofence, &q.respFields, &q.respMode, &q.index, &q.subject}[i]
}

// parseHeaders reads the X-Qanapi-* headers in one pass over the request
// headers, noting any that appears twice in any letter case (refused:
// which one would win is ambiguous, and a smuggled second value must not
// slip through).
func parseHeaders(h *fasthttp.RequestHeader, q *qHeaders) {
	*q = qHeaders{}
	for k, v := range h.All() {
		if !isQanapi(k) {
			continue
		}
		i := qanapiIndex(k)
		if i < 0 {
			if q.unknown == nil {
				q.unknown = k
			}
			continue
		}
		slot := q.slot(i)
		if *slot != nil && q.dup == "" {
			q.dup = qanapiHeaders[i]
		}
		if v == nil {
			v = []byte{}
		}
		*slot = v
	}
	for _, k := range h.PeekTrailerKeys() {
		if isQanapi(k) {
			q.trailer = k
			break
		}
	}
}

// isQanapi reports whether k is one of our X-Qanapi-* headers, in any
// letter case, or spelt with underscores, dots or spaces (X_Qanapi_Fields:
// CGI-style frameworks read it as X-Qanapi-Fields; here it is an unknown
// header).
func isQanapi(k []byte) bool {
	return len(k) >= len(qanapiPrefix) && equalFoldDash(k[:len(qanapiPrefix)], qanapiPrefix)
}

// equalFoldDash is equalFold with '_', '.', a space and a tab in b taken
// as '-': CGI-style frameworks (Rack, PHP, WSGI) name headers
// HTTP_X_QANAPI_FIELDS, which is X-Qanapi-Fields, X_Qanapi_Fields and
// X.Qanapi.Fields alike; fasthttp keeps a name with a space inside
// ("X-Qanapi Fields"), which a lenient parser may read as the header.
func equalFoldDash(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := lowerASCII(b[i])
		if c == '_' || c == '.' || c == ' ' || c == '\t' {
			c = '-'
		}
		if c != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

// qanapiIndex returns the index in qanapiHeaders of name, in any letter
// case, or -1.
func qanapiIndex(name []byte) int {
	for i, h := range qanapiHeaders {
		if equalFold(name, h) {
			return i
		}
	}
	return -1
}

// equalFold reports whether b and s are equal under ASCII case folding.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// mode is encrypt or decrypt.
type mode uint8

const (
	modeEncrypt mode = iota + 1
	modeDecrypt
)

func (m mode) String() string {
	if m == modeDecrypt {
		return "decrypt"
	}
	return "encrypt"
}

// parseMode reads X-Qanapi-Mode: case-insensitive, missing means encrypt.
func parseMode(v []byte) (mode, bool) {
	switch {
	case len(bytes.TrimSpace(v)) == 0:
		return modeEncrypt, true
	case bytes.EqualFold(bytes.TrimSpace(v), []byte("encrypt")):
		return modeEncrypt, true
	case bytes.EqualFold(bytes.TrimSpace(v), []byte("decrypt")):
		return modeDecrypt, true
	}
	return 0, false
}
