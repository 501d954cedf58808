package proxy

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"
)

// relocate rewrites a redirect's (or a 201's) Location and
// Content-Location that point under the project's upstream to the same
// place under /proxy/{id}, as nginx's proxy_redirect does by default: a
// client that follows it comes back through sdproxy. Left as the upstream
// sent it, a 307 or 308 would have the client send the same request, its
// key and the plaintext of the fields sdproxy would have encrypted,
// straight to the upstream. Three spellings are rewritten: the upstream's
// URL (scheme and host in any letter case), the same without the scheme
// (//host/…), and a path alone under the upstream's base path. Other
// places are left as they are. It returns buf, reused.
func relocate(h *fasthttp.ResponseHeader, status int, upstream, projectID string, buf []byte) []byte {
	if status != fasthttp.StatusCreated && (status < 300 || status > 399) {
		return buf
	}
	for _, name := range [...]string{fasthttp.HeaderLocation, fasthttp.HeaderContentLocation} {
		v := h.Peek(name)
		if len(v) == 0 {
			continue
		}
		rest, ok := underUpstream(v, upstream)
		if !ok {
			continue
		}
		buf = append(append(buf[:0], pathProxy...), projectID...)
		if len(rest) == 0 || rest[0] != '/' {
			buf = append(buf, '/') // /proxy/{id} alone is the transform-only call
		}
		buf = append(buf, rest...)
		h.SetBytesV(name, buf)
	}
	return buf
}

// underUpstream returns what follows the upstream URL in loc (a path
// from '/', a query or a fragment, or nothing) when loc names a place
// under it.
func underUpstream(loc []byte, upstream string) ([]byte, bool) {
	scheme, rest, ok := strings.Cut(upstream, "://")
	if !ok {
		return nil, false
	}
	host, base := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, base = rest[:i], strings.TrimRight(rest[i:], "/")
	}
	var after []byte
	switch {
	case hasPrefixFold(loc, scheme) && bytes.HasPrefix(loc[len(scheme):], []byte("://")) && hasPrefixFold(loc[len(scheme)+3:], host):
		after = loc[len(scheme)+3+len(host):]
	case bytes.HasPrefix(loc, []byte("//")) && hasPrefixFold(loc[2:], host):
		after = loc[2+len(host):]
	case len(loc) > 0 && loc[0] == '/' && (len(loc) == 1 || loc[1] != '/' && loc[1] != '\\'):
		after = loc
	default:
		return nil, false
	}
	if !endsSegment(after) {
		return nil, false // another host: up.test.example for up.test, up.test:81
	}
	if !bytes.HasPrefix(after, []byte(base)) || !endsSegment(after[len(base):]) {
		return nil, false // outside the base path: /apix or /other for /api
	}
	return after[len(base):], true
}

// endsSegment reports whether p is empty or starts a path, query or
// fragment.
func endsSegment(p []byte) bool {
	return len(p) == 0 || p[0] == '/' || p[0] == '?' || p[0] == '#'
}
