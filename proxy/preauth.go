package proxy

import (
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// ConfigureServer sets what the data listener's server needs for
// Handler. Request bodies are streamed: fasthttp reads at most
// UnauthBodyBytes of one (and never more than 8 KiB) before the handler,
// and sets nothing aside for what a Content-Length announces. The rest is
// read by loadBody, only once the request's key is authenticated,
// authorised and within its rate limit, at most max_body_bytes of it. So
// neither a caller without a key nor a key holder past its rate limit can
// make the server reserve or read a large body (fasthttp would set the
// whole announced length aside before the handler ran), and a locked-out
// address learns nothing about a key from how its body was handled.
func (d *Data) ConfigureServer(s *fasthttp.Server) {
	s.ErrorHandler = d.ServerErrorHandler
	s.StreamRequestBody = true
	s.MaxRequestBodySize = d.unauthMax
	s.DisablePreParseMultipartForm = true
}

// bodyUnread reports whether the request's body was not read whole before
// the handler (see ConfigureServer): an answer given before loadBody must
// then end the connection rather than let the server read and drain it.
func (d *Data) bodyUnread(ctx *fasthttp.RequestCtx) bool {
	return ctx.Request.IsBodyStream() && httpapi.BodyUnread(ctx, d.unauthMax)
}

// loadBody reads a streamed request body whole into st's buffer and makes
// it the request's body; authorize calls it once the request may go on.
// A body over max_body_bytes is 413 body_too_large, read no further (the
// connection ends after the answer); one that stops coming is 408 or 400.
func (d *Data) loadBody(ctx *fasthttp.RequestCtx, st *reqState) error {
	if !ctx.Request.IsBodyStream() {
		return nil
	}
	b, err := httpapi.ReadBody(ctx, st.body, d.maxBody)
	st.body = b
	if err != nil {
		return err
	}
	if ctx.Request.Header.ContentLength() == -1 {
		// A chunked body's trailer section is read with it, after
		// authenticate looked at the headers: an X-Qanapi-* header sent
		// there unannounced is refused as one announced.
		for _, k := range ctx.Request.Header.PeekTrailerKeys() {
			if isQanapi(k) {
				return errInTrailer(k)
			}
		}
	}
	ctx.Request.SetBodyRaw(b)
	st.bodyLoaded = true
	if !ctx.Request.Header.ConnectionClose() {
		ctx.Response.Header.ResetConnectionClose() // read whole: the connection may go on
	}
	return nil
}
