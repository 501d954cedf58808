package httpapi

import (
	"io"

	"github.com/valyala/fasthttp"
)

// prefetchMax is the most of a streamed body fasthttp reads before the
// handler, whatever the server's MaxRequestBodySize.
const prefetchMax = 8 << 10

// BodyUnread reports whether a server that streams request bodies, with
// prefetch as its MaxRequestBodySize, has not read the request's body
// whole before the handler: then only the handler's ReadBody reads the
// rest, and an answer given without it must end the connection.
func BodyUnread(ctx *fasthttp.RequestCtx, prefetch int) bool {
	cl := ctx.Request.Header.ContentLength()
	return cl == -1 || cl > min(prefetch, prefetchMax)
}

// ReadBody reads a streamed request body whole into dst[:0] and returns
// it; a body that is not streamed is returned as it is. A body over max
// is ErrBodyTooLarge, read no further, and one that stops coming is a
// read error (ServerError): either way the connection ends after the
// answer. It allocates only to grow dst.
func ReadBody(ctx *fasthttp.RequestCtx, dst []byte, max int) ([]byte, error) {
	if !ctx.Request.IsBodyStream() {
		return ctx.Request.Body(), nil
	}
	if ctx.Request.Header.ContentLength() > max {
		ctx.SetConnectionClose()
		return dst[:0], ErrBodyTooLarge
	}
	r := ctx.RequestBodyStream()
	b := dst[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > max {
			ctx.SetConnectionClose()
			return b, ErrBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			ctx.SetConnectionClose()
			return b, ServerError(err)
		}
	}
}
