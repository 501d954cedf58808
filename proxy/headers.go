package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Request headers of the Qanapi-compatible surface.
const (
	HeaderAuthorization  = "X-Qanapi-Authorization"
	HeaderMode           = "X-Qanapi-Mode"
	HeaderFields         = "X-Qanapi-Fields"
	HeaderClassification = "X-Qanapi-Classification"
	HeaderDestination    = "X-Qanapi-Destination"
	HeaderGeofence       = "X-Qanapi-Geofence"
)

// qanapiPrefix starts every header that is ours and never forwarded.
// fasthttp normalises header names, so the comparison is exact.
var qanapiPrefix = []byte("X-Qanapi-")

// qHeaders holds the X-Qanapi-* request headers. The slices point into the
// request: valid only during the handler.
type qHeaders struct {
	auth, mode, fields, class, dest, geofence []byte
	// dup names a header that was sent more than once.
	dup string
}

// parseHeaders reads the X-Qanapi-* headers in one pass over the request
// headers, noting any that appears twice (refused: which one would win is
// ambiguous, and a smuggled second value must not slip through).
func parseHeaders(h *fasthttp.RequestHeader, q *qHeaders) {
	*q = qHeaders{}
	for k, v := range h.All() {
		if !bytes.HasPrefix(k, qanapiPrefix) {
			continue
		}
		var slot *[]byte
		var name string
		switch string(k[len(qanapiPrefix):]) {
		case "Authorization":
			slot, name = &q.auth, HeaderAuthorization
		case "Mode":
			slot, name = &q.mode, HeaderMode
		case "Fields":
			slot, name = &q.fields, HeaderFields
		case "Classification":
			slot, name = &q.class, HeaderClassification
		case "Destination":
			slot, name = &q.dest, HeaderDestination
		case "Geofence":
			slot, name = &q.geofence, HeaderGeofence
		default:
			continue
		}
		if *slot != nil && q.dup == "" {
			q.dup = name
		}
		if v == nil {
			v = []byte{}
		}
		*slot = v
	}
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
