package proxy

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Response header names of the Qanapi-compatible surface.
const (
	HeaderRequestID = "X-Qanapi-Request-Id"
	HeaderErrorCode = "X-Qanapi-Error-Code"
)

// requestIDs hands out request ids: a random per-process prefix and a
// counter, so they are unique without allocating.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

// next appends a new id to dst.
func (r *requestIDs) next(dst []byte) []byte {
	dst = append(dst, r.prefix...)
	return strconv.AppendUint(dst, r.n.Add(1), 36)
}

// setRequestID stamps a fresh request id on the response and returns it.
// The returned slice lives in the response header: valid only during the
// handler.
func setRequestID(ctx *fasthttp.RequestCtx, ids *requestIDs) []byte {
	var buf [48]byte
	id := ids.next(buf[:0])
	ctx.Response.Header.SetBytesV(HeaderRequestID, id)
	return ctx.Response.Header.Peek(HeaderRequestID)
}

// errorBody is the JSON shape of every error.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// writeError answers with err as JSON. Unexpected errors are logged (with
// the request id) and shown as "internal error".
func writeError(ctx *fasthttp.RequestCtx, log *slog.Logger, err error) {
	ae, expected := toAPIError(err)
	reqID := string(ctx.Response.Header.Peek(HeaderRequestID))
	if !expected && log != nil {
		log.Error("request failed", "request_id", reqID, "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.RequestID = ae.Code, ae.Message, reqID
	ctx.Response.Header.Set(HeaderErrorCode, ae.Code)
	writeJSON(ctx, ae.Status, body)
}

// writeJSON answers status with v encoded as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}
