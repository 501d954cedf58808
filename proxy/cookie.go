package proxy

import (
	"bufio"
	"bytes"

	"github.com/valyala/fasthttp"
)

// fasthttp parses a request's Cookie header into cookies and writes them
// again when the request is forwarded: a quoted value loses its quotes,
// a cookie whose quoted value holds a ';' is lost, "a=1;b=2" gains a
// space. The upstream must get the header the client sent. Most Cookie
// headers come out the same; the others are set as received.

// verbatimCookie returns the Cookie header as the client sent it (lines
// joined with "; ", RFC 6265 §5.4; a folded line's break as a space) when
// fasthttp would forward it otherwise, else nil (none, or the same). It
// reads the header block as received: one scan of it, no allocation
// unless there are several lines (then one buffer, grown as they come).
func verbatimCookie(in *fasthttp.RequestHeader) []byte {
	var cookie []byte // in the header block until a second piece comes
	owned, afterCookie := false, false
	add := func(sep string, v []byte) {
		switch {
		case len(v) == 0:
		case cookie == nil:
			cookie = v
		default:
			if !owned {
				cookie, owned = append(make([]byte, 0, 2*(len(cookie)+len(v))), cookie...), true
			}
			cookie = append(append(cookie, sep...), v...)
		}
	}
	for raw := in.RawHeaders(); len(raw) > 0; {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if folded && afterCookie {
			add(" ", trimOWS(line)) // obs-fold: a space in its place (RFC 9112, §5.2)
			continue
		}
		if afterCookie = !folded && len(line) >= 7 && line[0]|0x20 == 'c' && equalFold(line[:7], "Cookie:"); afterCookie {
			add("; ", trimOWS(line[7:]))
		}
	}
	if cookie == nil || sameCookie(in, cookie) {
		return nil
	}
	return cookie
}

// trimOWS trims spaces, tabs and the line's CR from both ends of v: not
// other bytes, which are the value's (a trailing NBSP is).
func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v
}

// sameCookie reports whether fasthttp writes in's cookies as cookie.
func sameCookie(in *fasthttp.RequestHeader, cookie []byte) bool {
	rest, first := cookie, true
	for k, v := range in.Cookies() {
		if !first {
			if !bytes.HasPrefix(rest, []byte("; ")) {
				return false
			}
			rest = rest[2:]
		}
		first = false
		if len(k) > 0 {
			if !bytes.HasPrefix(rest, k) || len(rest) == len(k) || rest[len(k)] != '=' {
				return false
			}
			rest = rest[len(k)+1:]
		}
		if !bytes.HasPrefix(rest, v) {
			return false
		}
		rest = rest[len(v):]
	}
	return len(rest) == 0
}

// setCookieLine makes out a header holding only the Cookie line cookie,
// kept as it is: fasthttp writes a Cookie line it read and did not parse
// as it was, and parses one set any other way. It reports whether it
// could (out is left empty otherwise). Rare: it allocates.
func setCookieLine(out *fasthttp.RequestHeader, cookie []byte) bool {
	b := make([]byte, 0, len(cookie)+64)
	b = append(b, "GET / HTTP/1.1\r\nHost: h\r\nCookie: "...)
	b = append(append(b, cookie...), "\r\n\r\n"...)
	if err := out.Read(bufio.NewReaderSize(bytes.NewReader(b), len(b)+64)); err != nil { // all of it at once: a Cookie may be larger than bufio's 4 KiB
		out.Reset() // not expected: the line was read from a request
		return false
	}
	out.SetHostBytes(nil) // the client sets the upstream's
	return true
}
