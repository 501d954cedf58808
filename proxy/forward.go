package proxy

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// hopByHop are the headers that belong to one connection and are never
// forwarded, in either direction (RFC 9110 §7.6.1), in fasthttp's
// normalised spelling.
var hopByHop = [][]byte{
	[]byte("Connection"), []byte("Proxy-Connection"), []byte("Keep-Alive"),
	[]byte("Proxy-Authenticate"), []byte("Proxy-Authorization"), []byte("Te"),
	[]byte("Trailer"), []byte("Transfer-Encoding"), []byte("Upgrade"),
}

// skipHeader reports whether a header must not be copied: hop-by-hop,
// named in Connection, or one that is recomputed.
func skipHeader(k, connection []byte) bool {
	for _, h := range hopByHop {
		if bytes.EqualFold(k, h) {
			return true
		}
	}
	if bytes.EqualFold(k, []byte("Content-Length")) {
		return true
	}
	return len(connection) > 0 && listed(connection, k)
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

// buildOutgoing copies the client's request into out: same method, every
// header but X-Qanapi-*, hop-by-hop ones and Host; the given URL and
// body; X-Forwarded-For/-Proto/-Host added. It returns scratch grown by
// what it used.
func buildOutgoing(ctx *fasthttp.RequestCtx, out *fasthttp.Request, url, body []byte, scratch []byte) []byte {
	in := &ctx.Request.Header
	out.Header.DisableNormalizing()
	out.Header.SetMethodBytes(in.Method())
	// Every Connection header's list, and every X-Forwarded-For value in
	// order: a header sent twice counts as its values joined.
	start := len(scratch)
	for k, v := range in.All() {
		if bytes.EqualFold(k, []byte("Connection")) {
			scratch = append(append(scratch, v...), ',')
		}
	}
	connection := scratch[start:]
	xff := len(scratch)
	for k, v := range in.All() {
		switch {
		case isQanapi(k), skipHeader(k, connection), bytes.EqualFold(k, []byte("Host")):
		case bytes.EqualFold(k, []byte("X-Forwarded-For")):
			scratch = append(append(scratch, v...), ", "...)
		default:
			out.Header.AddBytesKV(k, v)
		}
	}
	out.SetRequestURIBytes(url)
	scratch = appendIP(scratch, ctx.RemoteAddr())
	out.Header.SetBytesV("X-Forwarded-For", scratch[xff:])
	if ctx.IsTLS() {
		out.Header.Set("X-Forwarded-Proto", "https")
	} else {
		out.Header.Set("X-Forwarded-Proto", "http")
	}
	out.Header.SetBytesV("X-Forwarded-Host", in.Host())
	out.SetBodyRaw(body)
	return scratch
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
// and those the proxy sets itself, body. It returns scratch grown by what
// it used.
func copyResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, scratch []byte) []byte {
	out := &ctx.Response
	out.SetStatusCode(resp.StatusCode())
	start := len(scratch)
	for k, v := range resp.Header.All() {
		if bytes.EqualFold(k, []byte("Connection")) {
			scratch = append(append(scratch, v...), ',')
		}
	}
	connection := scratch[start:]
	for k, v := range resp.Header.All() {
		if skipHeader(k, connection) || bytes.EqualFold(k, []byte("Date")) || ownHeader(k) || isQanapi(k) {
			continue
		}
		out.Header.AddBytesKV(k, v)
	}
	out.SetBody(resp.Body())
	if ctx.IsHead() && resp.Header.ContentLength() >= 0 {
		// No body, but the length a GET would have, as the upstream said.
		out.Header.SetContentLength(resp.Header.ContentLength())
	}
	return scratch
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
