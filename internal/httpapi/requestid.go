package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// RequestIDs hands out request ids: a random per-process prefix and a
// counter, so they are unique without allocating. The zero value is not
// usable: make one with NewRequestIDs.
type RequestIDs struct {
	prefix string
	n      atomic.Uint64
}

// NewRequestIDs returns ids that start with tag + "_" + 8 random hex
// characters + "-".
func NewRequestIDs(tag string) *RequestIDs {
	var b [4]byte
	rand.Read(b[:])
	return &RequestIDs{prefix: tag + "_" + hex.EncodeToString(b[:]) + "-"}
}

// Next appends a new id to dst.
func (r *RequestIDs) Next(dst []byte) []byte {
	dst = append(dst, r.prefix...)
	return strconv.AppendUint(dst, r.n.Add(1), 36)
}

// Stamp sets a fresh request id on the response.
func (r *RequestIDs) Stamp(ctx *fasthttp.RequestCtx) {
	var buf [48]byte
	ctx.Response.Header.SetBytesV(HeaderRequestID, r.Next(buf[:0]))
}
