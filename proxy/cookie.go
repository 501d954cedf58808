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

// verbatimCookie returns the Cookie header as the client sent it (two
// lines joined with "; ", RFC 6265 §5.4) when fasthttp would forward it
// otherwise, else nil (none, or the same). It reads the header block as
// received: one scan of it, no allocation unless there are two lines.
func verbatimCookie(in *fasthttp.RequestHeader) []byte {
	var cookie []byte
	lines, afterCookie := 0, false
	for raw := in.RawHeaders(); len(raw) > 0; {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if folded && afterCookie {
			// A Cookie line folded (obs-fold): a space in its place
			// (RFC 9112, §5.2), as fasthttp reads it.
			cookie = append(append(append([]byte(nil), cookie...), ' '), bytes.TrimSpace(line)...)
			continue
		}
		if afterCookie = !folded && len(line) >= 7 && line[0]|0x20 == 'c' && equalFold(line[:7], "Cookie:"); !afterCookie {
			continue
		}
		value := bytes.TrimSpace(line[7:]) // the line's '\r' too
		if lines++; lines == 1 {
			cookie = value
		} else {
			cookie = append(append(append([]byte(nil), cookie...), "; "...), value...)
		}
	}
	if cookie == nil || sameCookie(in, cookie) {
		return nil
	}
	return cookie
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
	if err := out.Read(bufio.NewReader(bytes.NewReader(b))); err != nil {
		out.Reset() // not expected: the line was read from a request
		return false
	}
	out.SetHostBytes(nil) // the client sets the upstream's
	return true
}
