package proxy

import (
	"bytes"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// serveProxy is ANY /proxy/{project-id}[/{rest}]: authenticate, transform
// the named fields of the body, then forward to the allowed destination or
// the project's upstream, or answer with the transformed body.
func (d *Data) serveProxy(ctx *fasthttp.RequestCtx, st *reqState, rest []byte) error {
	project, path := rest, []byte(nil)
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		project, path = rest[:i], rest[i:]
	}
	if err := d.admit(ctx, st, project, 0); err != nil {
		return err
	}
	body, err := d.transformBody(ctx, st)
	if err != nil {
		return err
	}
	url, t, err := d.resolveTarget(ctx, st, path)
	if err != nil {
		return err
	}
	if url == nil {
		ctx.SetStatusCode(200)
		if len(ctx.Request.Header.ContentType()) > 0 {
			ctx.Response.Header.SetContentTypeBytes(ctx.Request.Header.ContentType())
		}
		ctx.SetBody(body)
		return nil
	}
	return d.forward(ctx, st, t, url, body)
}

// transformBody encrypts or decrypts the fields named by X-Qanapi-Fields.
// Without fields, or with an empty body, the body is returned as it is.
// A body that cannot be transformed is refused; it is never passed on.
func (d *Data) transformBody(ctx *fasthttp.RequestCtx, st *reqState) ([]byte, error) {
	body := ctx.Request.Body()
	if len(bytes.TrimSpace(st.h.fields)) == 0 {
		return body, nil
	}
	fields, err := fieldcrypt.ParseFields(string(st.h.fields))
	if err != nil {
		return nil, err
	}
	if err := d.checkBody(ctx); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	if err := d.setParams(st); err != nil {
		return nil, err
	}
	st.fieldCount = fields.Len()
	var out []byte
	if st.mode == modeEncrypt {
		out, err = fieldcrypt.Encrypt(st.buf[:0], body, fields, &st.params)
	} else {
		out, err = fieldcrypt.Decrypt(st.buf[:0], body, fields, &st.params)
	}
	if err != nil {
		return nil, err
	}
	st.buf = out
	return out, nil
}

// resolveTarget picks the URL to forward to: an allowed
// X-Qanapi-Destination as given, else the project's upstream + the rest of
// the path + the query, else nil (answer directly). The bare project path
// /proxy/{id} (nothing after the id) never goes to the upstream: it is
// Qanapi's transform-only call. /proxy/{id}/ reaches the upstream's root.
func (d *Data) resolveTarget(ctx *fasthttp.RequestCtx, st *reqState, path []byte) ([]byte, *target, error) {
	if dest := bytes.TrimSpace(st.h.dest); len(dest) > 0 {
		var ok bool
		st.origin, st.dest, ok = parseTarget(st.origin[:0], dest)
		if !ok || !slices.Contains(st.project.Destinations, string(st.dest.origin)) {
			return nil, nil, errDestination
		}
		return dest, &st.dest, nil
	}
	if st.project.Upstream == "" || path == nil {
		return nil, nil, nil
	}
	t, ok := d.upstreams.upstream(st.project.Upstream)
	if !ok {
		return nil, nil, errInternal
	}
	url := append(append(st.url[:0], st.project.Upstream...), path...)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		url = append(append(url, '?'), q...)
	}
	st.url = url
	return url, t, nil
}

// forward sends the request upstream and copies the answer back.
func (d *Data) forward(ctx *fasthttp.RequestCtx, st *reqState, t *target, url, body []byte) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	st.scratch = buildOutgoing(ctx, req, url, body, st.scratch[:0])
	if err := d.upstreams.client(t).Do(req, resp); err != nil {
		return upstreamError(err)
	}
	copyResponse(ctx, resp)
	return nil
}
