package proxy

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// hopByHop reports whether k is a header that belongs to one connection
// and is never forwarded, in either direction (RFC 9110 §7.6.1), in any
// letter case; or Content-Length, which is recomputed.
func hopByHop(k []byte) bool {
	switch len(k) {
	case 2:
		return equalFold(k, "Te")
	case 7:
		return equalFold(k, "Trailer") || equalFold(k, "Upgrade")
	case 10:
		return equalFold(k, "Connection") || equalFold(k, "Keep-Alive")
	case 14:
		return equalFold(k, "Content-Length")
	case 16:
		return equalFold(k, "Proxy-Connection")
	case 17:
		return equalFold(k, "Transfer-Encoding")
	case 18:
		return equalFold(k, "Proxy-Authenticate")
	case 19:
		return equalFold(k, "Proxy-Authorization")
	}
	return false
}

// skipHeader reports whether a header must not be copied: hop-by-hop,
// named in Connection, or one that is recomputed.
func skipHeader(k, connection []byte) bool {
	return hopByHop(k) || len(connection) > 0 && listed(connection, k)
}

// listed reports whether the comma-separated list holds name.
func listed(list, name []byte) bool {
	for len(list) > 0 {
		var item []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			item, list = list, nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), name) {
			return true
		}
	}
	return false
}

// namesOthers reports whether a Connection list names a header that is
// not hop-by-hop anyway: only then must a copy made without the list be
// filtered again. "keep-alive" alone, the common case, names none.
func namesOthers(list []byte) bool {
	for len(list) > 0 {
		var item []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			item, list = list, nil
		}
		if item = bytes.TrimSpace(item); len(item) > 0 && !hopByHop(item) {
			return true
		}
	}
	return false
}

// buildOutgoing copies the client's request into out: same method, every
// header but X-Qanapi-*, hop-by-hop ones and Host; the given URL and
// body; X-Forwarded-For/-Proto/-Host added. Headers are copied in one
// pass; only when a Connection header names other headers (not the usual
// keep-alive) is the copy made again without them. It returns scratch
// grown by what it used, and conn holding the Connection lists.
func buildOutgoing(ctx *fasthttp.RequestCtx, out *fasthttp.Request, url, body []byte, scratch, conn []byte) (_, _ []byte) {
	in := &ctx.Request.Header
	cookie := verbatimCookie(in)
	cookieSet := startOutgoing(in, &out.Header, cookie)
	xff := len(scratch)
	scratch, conn = copyRequestHeaders(in, &out.Header, nil, cookieSet, scratch, conn[:0])
	if namesOthers(conn) {
		out.Header.Reset()
		if listed(conn, []byte("Cookie")) {
			cookie = nil // hop-by-hop here: dropped as the others named
		}
		cookieSet = startOutgoing(in, &out.Header, cookie)
		// The lists are gathered again after the ones read, then cut.
		n := len(conn)
		scratch, conn = copyRequestHeaders(in, &out.Header, conn, cookieSet, scratch[:xff], conn)
		conn = conn[:n]
	}
	out.SetRequestURIBytes(url)
	scratch = appendIP(scratch, ctx.RemoteAddr())
	out.Header.SetCanonical(canonForwardedFor, scratch[xff:])
	if ctx.IsTLS() {
		out.Header.SetCanonical(canonForwardedProto, []byte("https"))
	} else {
		out.Header.SetCanonical(canonForwardedProto, []byte("http"))
	}
	out.Header.SetCanonical(canonForwardedHost, in.Host())
	out.Header.SetNoDefaultContentType(true) // none sent, none made up
	out.SetBodyRaw(body)
	return scratch, conn
}

// startOutgoing starts the outgoing request's header: its method and,
// when cookie is not nil, that Cookie line as it is. It reports whether
// it set the Cookie line.
func startOutgoing(in, out *fasthttp.RequestHeader, cookie []byte) bool {
	set := cookie != nil && setCookieLine(out, cookie)
	out.DisableNormalizing()
	out.SetMethodBytes(in.Method())
	return set
}

// copyRequestHeaders adds to out every header of in but X-Qanapi-*,
// hop-by-hop ones, Host, those the connection list names and, when
// cookieSet (startOutgoing set it), Cookie; it appends
// the X-Forwarded-For values to scratch, each followed by ", " (a header
// sent twice counts as its values joined), and every Connection value to
// conn, each followed by ','.
func copyRequestHeaders(in, out *fasthttp.RequestHeader, connection []byte, cookieSet bool, scratch, conn []byte) (_, _ []byte) {
	for k, v := range in.All() {
		switch {
		case equalFold(k, "Connection"):
			conn = append(append(conn, v...), ',')
		case isQanapi(k), skipHeader(k, connection), equalFold(k, "Host"), cookieSet && equalFold(k, "Cookie"):
		case spaceInName(k):
			// Not a header name (RFC 9110 §5.1), though fasthttp keeps
			// it: a lenient upstream could read "Transfer Encoding" as
			// Transfer-Encoding. Dropped, as from answers (copyResponse).
		case equalFold(k, "X-Forwarded-For"):
			scratch = append(append(scratch, v...), ", "...)
		default:
			out.AddBytesKV(k, v)
		}
	}
	return scratch, conn
}

// appendIP appends the IP of addr without allocating.
func appendIP(dst []byte, addr net.Addr) []byte {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap().AppendTo(dst)
		}
	}
	return append(dst, "unknown"...)
}

// ownResponse are the response headers the proxy itself sets on every
// forwarded answer (§3.5); an upstream's copy would make a second,
// conflicting value, so it is dropped.
var ownResponse = []string{httpapi.HeaderRequestID, "Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"}

// copyResponse copies the upstream's answer to the client: status,
// headers but hop-by-hop ones (and those every Connection header names)
// and those the proxy sets itself, body. Headers are copied in one pass,
// and those a Connection header names are removed after (rarely needed:
// see namesOthers). The upstream's body moves over without a copy; a body
// the response phase wrote (copyBody) lives in the request state, and is
// copied, without the upstream's caching headers (keyDependent). It
// returns conn holding the Connection lists, and keys, both for reuse.
func copyResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, copyBody bool, conn, keys []byte) (_, _ []byte) {
	out := &ctx.Response
	out.SetStatusCode(resp.StatusCode())
	if len(resp.Header.ContentType()) == 0 {
		out.Header.SetNoDefaultContentType(true) // none sent, none made up
	}
	conn = conn[:0]
	for k, v := range resp.Header.All() {
		switch {
		case equalFold(k, "Connection"):
			conn = append(append(conn, v...), ',')
		case hopByHop(k), equalFold(k, "Date"), ownHeader(k), isQanapi(k):
		case spaceInName(k):
			// Not a header name (RFC 9110 §5.1): a lenient parser after
			// sdproxy could read "Cache Control" as one.
		case copyBody && cacheHeader(k): // see keyDependent
		default:
			out.Header.AddBytesKV(k, v)
		}
	}
	if namesOthers(conn) {
		keys = dropListed(&out.Header, conn, keys)
	}
	if copyBody {
		out.SetBody(resp.Body())
	} else {
		// The upstream's body buffer becomes the answer's, and the
		// answer's (empty) one goes back to resp for reuse.
		resp.SwapBody(out.SwapBody(resp.SwapBody(nil))[:0])
	}
	if ctx.IsHead() && resp.Header.ContentLength() >= 0 {
		// No body, but the length a GET would have, as the upstream said.
		out.Header.SetContentLength(resp.Header.ContentLength())
	}
	return conn, keys
}

// dropListed removes from h the headers that a Connection list names,
// but the proxy's own (never copied from the upstream). The names are
// gathered in keys first, as h cannot change while it is walked.
func dropListed(h *fasthttp.ResponseHeader, conn, keys []byte) []byte {
	keys = keys[:0]
	for k := range h.All() {
		if listed(conn, k) && !ownHeader(k) && !isQanapi(k) {
			keys = append(append(keys, k...), '\n')
		}
	}
	for rest := keys; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		h.DelBytes(rest[:i])
		rest = rest[i+1:]
	}
	return keys
}

// ownHeader reports whether k is one of ownResponse, in any letter case.
func ownHeader(k []byte) bool {
	for _, h := range ownResponse {
		if equalFold(k, h) {
			return true
		}
	}
	return false
}

// spaceInName reports whether header name k holds a space or a tab, which
// no header name does (RFC 9110 §5.1) but fasthttp keeps. A loop: names
// are short, and two IndexByte calls per header cost more.
func spaceInName(k []byte) bool {
	for _, c := range k {
		if c == ' ' || c == '\t' {
			return true
		}
	}
	return false
}
