package proxy

import (
	"bytes"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/routematch"
)

// resolveTarget picks the URL to forward to and its client: an allowed
// X-Qanapi-Destination as given, else the project's upstream + the rest of
// the path + the query, else nil (answer directly). The bare project path
// /proxy/{id} (nothing after the id) never goes to the upstream: it is
// Qanapi's transform-only call. /proxy/{id}/ reaches the upstream's root.
func (d *Data) resolveTarget(ctx *fasthttp.RequestCtx, st *reqState, project, path []byte) ([]byte, *clientEntry, error) {
	now := st.start.UnixNano()
	if dest := bytes.TrimSpace(st.h.dest); len(dest) > 0 {
		var ok bool
		st.origin, st.dest, ok = parseTarget(st.origin[:0], dest)
		if !ok || !slices.Contains(st.project.Destinations, string(st.dest.origin)) {
			return nil, nil, errDestination
		}
		c, err := d.upstreams.client(st.project, &st.dest, now)
		if err != nil {
			return nil, nil, err
		}
		return dest, c, nil
	}
	if st.project.Upstream == "" || path == nil {
		return nil, nil, nil
	}
	c, err := d.upstreams.project(st.project, now)
	if err != nil {
		return nil, nil, err
	}
	url := append(st.url[:0], st.project.Upstream...)
	url = appendPath(url, ctx.URI().PathOriginal(), project, path)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		url = append(append(url, '?'), q...)
	}
	st.url = url
	return url, c, nil
}

// safePath reports whether the decoded path to forward can mean only
// itself to any upstream: no backslash (IIS and others read it as '/'),
// and no dot segment carrying parameters ("..;" or ".;x", which Tomcat,
// Jetty and Spring resolve as ".." after cutting the parameters). Dot
// segments themselves were already resolved by the server's path
// normalisation, inside /proxy/{id}.
func safePath(p []byte) bool {
	if bytes.IndexByte(p, '\\') >= 0 {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < ' ' || c == 0x7f: // %00, %09, %0A…: matchers trim or cut at them
			return false
		case c >= utf8.RuneSelf:
			// Unicode spaces and invisible characters (NEL %C2%85, NBSP,
			// U+2028, zero width): Python's strip() and others trim them.
			r, n := utf8.DecodeRune(p[i:])
			if unicode.IsSpace(r) || r == 0x200b || r == 0x2060 || r == 0xfeff {
				return false
			}
			i += n - 1
		}
	}
	for len(p) > 0 {
		var seg []byte
		p = p[1:] // the '/' before each segment
		if i := bytes.IndexByte(p, '/'); i >= 0 {
			seg, p = p[:i], p[i:]
		} else {
			seg, p = p, nil
		}
		if i := bytes.IndexByte(seg, ';'); i >= 0 && (i == 1 && seg[0] == '.' || i == 2 && seg[0] == '.' && seg[1] == '.') {
			return false
		}
	}
	return true
}

// appendPath appends to dst the path to forward, given the request's
// path as sent (raw, still percent-encoded) and the part after
// /proxy/{project} of the normalised path the handler routed on. The
// client's own spelling is kept when it is plainly that same path, so
// %2F stays %2F; otherwise the normalised path is escaped again. Decoded
// bytes are never sent as they are: %3F would turn into a query, %23 into
// a fragment, %20 would break the request line.
func appendPath(dst, raw, project, path []byte) []byte {
	if rest := forwardedRaw(raw, project); rest != nil {
		return append(dst, rest...)
	}
	for _, c := range path {
		if c == '/' || c != ';' && routematch.PathChar(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// forward sends the request upstream with c and copies the answer back.
// The upstream's time (st.upstream) runs from sending the request until
// its answer is read, failed attempts included.
func (d *Data) forward(ctx *fasthttp.RequestCtx, st *reqState, c *clientEntry, url, body []byte) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	st.scratch, st.conn = buildOutgoing(ctx, req, url, body, st.scratch[:0], st.conn)
	if st.decoded {
		req.Header.Del(fasthttp.HeaderContentEncoding) // the body goes on decoded
	}
	st.prepareUpstream(req)
	resp.Header.SetNoDefaultContentType(true) // kept by Do: an answer without a Content-Type has none
	sent := d.since(st.start)
	asks := c.certAsks.Load()
	err := c.c.Do(req, resp)
	st.upstream, st.upstreamCalled = d.since(st.start)-sent, true
	if err != nil {
		ae := upstreamError(err)
		if ae == errUpstreamUnreachable && c.certAsks.Load() != asks {
			// Asked for a certificate, then closed or reset: refused it.
			return errUpstreamClientCert
		}
		return ae
	}
	if err := d.transformResponse(ctx, st, resp); err != nil {
		return err
	}
	keyDep := st.resp.ran || st.resp.bare
	st.conn, st.scratch = copyResponse(ctx, resp, keyDep, st.conn, st.scratch)
	if len(bytes.TrimSpace(st.h.dest)) == 0 { // the project's upstream
		st.scratch = relocate(&ctx.Response.Header, resp.StatusCode(), st.project.Upstream, st.project.ID, st.scratch)
	} else {
		st.scratch = unlinkDestination(&ctx.Response.Header, resp.StatusCode(), st.dest.origin, st.scratch)
	}
	if keyDep {
		keyDependent(&ctx.Response.Header) // after the copy: no upstream header can undo it
	}
	if st.resp.ran || st.resp.left {
		var num [20]byte
		ctx.Response.Header.SetBytesV(HeaderUntransformed, strconv.AppendInt(num[:0], int64(st.respResult.untransformed), 10))
	}
	return nil
}
