package proxy

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// relocate rewrites a redirect's (or a 201's) Location and
// Content-Location lines that point under the project's upstream to the
// same place under /proxy/{id}, as nginx's proxy_redirect does by
// default: a client that follows one comes back through sdproxy. Left as
// the upstream sent it, a 307 or 308 would have the client send the same
// request, its key and the plaintext of the fields sdproxy would have
// encrypted, straight to the upstream. The spellings a browser or an
// HTTP client reads as the upstream are rewritten (see underUpstream);
// other places are left as they are. It returns buf, reused.
func relocate(h *fasthttp.ResponseHeader, status int, upstream, projectID string, buf []byte) []byte {
	if status != fasthttp.StatusCreated && (status < 300 || status > 399) {
		return buf
	}
	for _, name := range [...]string{fasthttp.HeaderLocation, fasthttp.HeaderContentLocation} {
		vals := h.PeekAll(name)
		if len(vals) == 0 {
			continue
		}
		// Every line, rewritten or as sent, gathered before h changes.
		buf = buf[:0]
		changed := false
		for _, v := range vals {
			if rest, ok := underUpstream(v, upstream); ok {
				buf = append(append(buf, pathProxy...), projectID...)
				if len(rest) == 0 || !isSlash(rest[0]) {
					buf = append(buf, '/') // /proxy/{id} alone is the transform-only call
				}
				buf = appendSlashes(buf, rest)
				changed = true
			} else {
				buf = append(buf, v...)
			}
			buf = append(buf, '\n')
		}
		if changed {
			setLines(h, name, buf)
		}
	}
	return buf
}

// setLines replaces header name's lines with those of lines, each ended
// by '\n'.
func setLines(h *fasthttp.ResponseHeader, name string, lines []byte) {
	h.Del(name)
	for rest := lines; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		h.AddBytesV(name, rest[:i])
		rest = rest[i+1:]
	}
}

// unlinkDestination removes from a destination's redirect (or 201) the
// Location and Content-Location lines that name the destination itself
// by an absolute or scheme-relative URL. sdproxy cannot send a client
// that follows one back through itself (the client would send its
// X-Qanapi-Destination again, to the place it was just redirected from),
// and a client that follows it goes around sdproxy: a 307 or 308 would
// send the same request, the key and the plaintext of the fields sdproxy
// would have encrypted, straight to the destination. Relative ones
// resolve against the proxy's own URL and stay, as do other places.
func unlinkDestination(h *fasthttp.ResponseHeader, status int, dest []byte, buf []byte) []byte {
	if status != fasthttp.StatusCreated && (status < 300 || status > 399) {
		return buf
	}
	origin := string(dest)
	for _, name := range [...]string{fasthttp.HeaderLocation, fasthttp.HeaderContentLocation} {
		vals := h.PeekAll(name)
		buf = buf[:0]
		dropped := false
		for _, v := range vals {
			v = bytes.TrimSpace(v)
			relative := isRelativePath(v)
			if _, ok := underUpstream(v, origin); ok && !relative {
				dropped = true
				continue
			}
			buf = append(append(buf, v...), '\n')
		}
		if dropped {
			setLines(h, name, buf)
		}
	}
	return buf
}

// appendSlashes appends p with the backslashes of its path (before any
// query or fragment) as slashes, as a browser reads them.
func appendSlashes(dst, p []byte) []byte {
	end := bytes.IndexAny(p, "?#")
	if end < 0 {
		end = len(p)
	}
	for _, c := range p[:end] {
		if c == '\\' {
			c = '/'
		}
		dst = append(dst, c)
	}
	return append(dst, p[end:]...)
}

// underUpstream returns what follows the upstream URL in loc (a path
// from '/', a query or a fragment, or nothing) when loc names a place
// under it: its URL with http or https (TLS may end in front of it), the
// host in any letter case, with a trailing dot, after user info, with
// the port its scheme implies written out or not; the same without the
// scheme (//host/…); or a path alone under the upstream's base path.
// Backslashes count as slashes before the path, as browsers read them.
//
// As a client reads it too: the tabs and line breaks a browser strips
// from a URL are left out, the host is percent-decoded (browsers decode
// it) and a port is a number (:080 is :80 to Go's net/http, curl and
// browsers alike).
func underUpstream(loc []byte, upstream string) ([]byte, bool) {
	loc = withoutURLSpace(loc)
	uscheme, rest, ok := strings.Cut(upstream, "://")
	if !ok {
		return nil, false
	}
	uhost, base := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		uhost, base = rest[:i], strings.TrimRight(rest[i:], "/")
	}
	uname, uport := splitPort(uhost, uscheme)
	var after []byte
	lscheme := uscheme
	if i := bytes.IndexByte(loc, ':'); i > 0 && bytes.IndexAny(loc[:i], "/\\?#") < 0 {
		lscheme = string(loc[:i])
		if !strings.EqualFold(lscheme, "http") && !strings.EqualFold(lscheme, "https") {
			return nil, false
		}
		loc = loc[i+1:]
		if len(loc) < 2 || !isSlash(loc[0]) || !isSlash(loc[1]) {
			return nil, false // http:path: no host
		}
	}
	switch {
	case len(loc) >= 2 && isSlash(loc[0]) && isSlash(loc[1]):
		auth := loc[2:]
		end := bytes.IndexAny(auth, "/\\?#")
		if end < 0 {
			end = len(auth)
		}
		auth, after = auth[:end], auth[end:]
		if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
			auth = auth[at+1:]
		}
		name, port := splitPort(string(auth), lscheme)
		if strings.IndexByte(name, '%') >= 0 {
			if d, err := url.PathUnescape(name); err == nil {
				name = d
			}
		}
		if !strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(uname, ".")) ||
			port != uport && !(defaultPort(lscheme, port) && defaultPort(uscheme, uport)) {
			return nil, false // another host or port
		}
	case len(loc) > 0 && loc[0] == '/':
		after = loc
	default:
		return nil, false
	}
	if !endsSegment(after) {
		return nil, false
	}
	if !hasPathPrefix(after, base) || !endsSegment(after[len(base):]) {
		return nil, false // outside the base path: /apix or /other for /api
	}
	return after[len(base):], true
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// withoutURLSpace is loc without the tabs and line breaks a browser
// strips from a URL: loc itself when it has none (no allocation).
func withoutURLSpace(loc []byte) []byte {
	if !bytes.ContainsAny(loc, "\t\r\n") {
		return loc
	}
	stripped := make([]byte, 0, len(loc))
	for _, c := range loc {
		if c != '\t' && c != '\r' && c != '\n' {
			stripped = append(stripped, c)
		}
	}
	return stripped
}

// isRelativePath reports whether loc is a path alone (one slash, not two,
// at its start), the tabs and line breaks a browser strips left out.
func isRelativePath(loc []byte) bool {
	loc = withoutURLSpace(loc)
	return len(loc) > 0 && isSlash(loc[0]) && (len(loc) < 2 || !isSlash(loc[1]))
}

// hasPathPrefix reports whether p starts with base, a backslash in p
// counting as a slash.
func hasPathPrefix(p []byte, base string) bool {
	if len(p) < len(base) {
		return false
	}
	for i := range len(base) {
		if c := p[i]; c != base[i] && !(c == '\\' && base[i] == '/') {
			return false
		}
	}
	return true
}

// splitPort splits host[:port] (an IPv6 literal in brackets kept whole)
// and gives the port scheme implies when none is written.
func splitPort(host, scheme string) (name, port string) {
	name = host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		name, port = host[:i], host[i+1:]
	}
	switch {
	case port != "":
		// A number: leading zeros are not part of it.
		if strings.Trim(port, "0123456789") == "" {
			port = strings.TrimLeft(port, "0")
			if port == "" {
				port = "0"
			}
		}
	case strings.EqualFold(scheme, "https"):
		port = "443"
	default:
		port = "80"
	}
	return name, port
}

// defaultPort reports whether port is the one scheme implies.
func defaultPort(scheme, port string) bool {
	return strings.EqualFold(scheme, "https") && port == "443" || strings.EqualFold(scheme, "http") && port == "80"
}

// endsSegment reports whether p is empty or starts a path, query or
// fragment.
func endsSegment(p []byte) bool {
	return len(p) == 0 || p[0] == '/' || p[0] == '\\' || p[0] == '?' || p[0] == '#'
}
