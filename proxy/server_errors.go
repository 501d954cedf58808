package proxy

import (
	"errors"

	"github.com/valyala/fasthttp"
)

var (
	errBodyTooLarge = &apiError{413, "body_too_large", "request body is larger than the configured limit"}
	errBadHTTP      = &apiError{400, "invalid_request", "malformed HTTP request"}
	errReadTimeout  = &apiError{408, "request_timeout", "the request was not received in time"}
)

// serverErrIDs numbers the answers to requests that never reached a handler.
var serverErrIDs = requestIDs{prefix: newIDPrefix("srv")}

// ServerErrorHandler answers requests fasthttp could not read (too large,
// malformed, too slow) with the same JSON errors as the handlers,
// request id included.
func ServerErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	setRequestID(ctx, &serverErrIDs)
	var ae *apiError
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ae = errBodyTooLarge
	case isTimeout(err):
		ae = errReadTimeout
	default:
		ae = errBadHTTP
	}
	writeError(ctx, nil, ae)
	ctx.SetConnectionClose()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
