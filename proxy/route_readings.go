package proxy

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/sdproxy/sdproxy/internal/routematch"
)

// routeRank returns the rank of the route for method and the request's
// path, or -1, reading the path every way an upstream may read it: path
// is the server's reading (decoded, dot segments resolved, after
// /proxy/{id}); raw is the path as sent when that is what is forwarded
// (see forwardedRaw), else nil. Readings can differ by:
//
//   - a segment's ";parameters": Tomcat, Jetty and Spring cut them before
//     routing, Go, Node and nginx keep them as part of the segment, so
//     "/posts/;x" is "/posts/" to one and has the segment ";x" to the other;
//   - an escaped slash in raw: "/users/a%2Fb" has two segments once
//     decoded and one to a server that routes on the path as sent;
//   - a server (or a proxy in front of it) that decodes the path and
//     parses it again as a URL ends it at an escaped '?' or '#' (%3F,
//     %23: "/users/7%23/x" is "/users/7") and decodes it twice
//     ("/users/7%252Fcards" is "/users/7/cards"); these readings count
//     only when no other matches a route;
//   - a letter outside ASCII that a server's case-insensitive matching
//     takes for an ASCII one (Java's equalsIgnoreCase, .NET's
//     OrdinalIgnoreCase): "/poſts" is "/posts", the Kelvin sign K is k,
//     dotless ı is i.
//
// A reading that matches no route is no concern (the upstream would then
// serve a path that no rule covers in any spelling), so the rank is the
// one route every reading that matches at all agrees on. ok is false when
// two readings match different routes: no one route's rules can be
// applied safely.
//
// Paths with none of these cost a few scans; routeRank does not allocate
// for paths up to 512 bytes.
func routeRank(t *routematch.Trie, method, path, raw []byte) (rank int, ok bool) {
	rank = t.Match(method, path)
	esc := raw != nil && hasEscapedSlash(raw)
	if !esc && bytes.IndexByte(path, ';') < 0 && bytes.IndexAny(path, "?#%") < 0 && ascii(path) {
		return rank, true
	}
	r := readings{t: t, method: method, rank: -1, ok: true}
	r.add(path)
	var buf [512]byte
	if esc {
		r.add(keepEscapedSlashes(buf[:0], raw))
	}
	if r.rank < 0 {
		// The readings of a server that decodes the path and parses it
		// again as a URL only fill a gap: they are rare, and a path they
		// read otherwise ("/tags/%23go") must not be refused for them.
		var again [512]byte
		if i := bytes.IndexAny(path, "?#"); i >= 0 {
			r.add(path[:i])
		}
		if bytes.IndexByte(path, '%') >= 0 {
			d := unescapeOnce(again[:0], path)
			r.add(d)
			if i := bytes.IndexAny(d, "?#"); i >= 0 {
				r.add(d[:i])
			}
		}
	}
	return r.rank, r.ok
}

// readings gathers the routes that readings of one path match.
type readings struct {
	t      *routematch.Trie
	method []byte
	rank   int // the route every reading that matches agrees on, or -1
	ok     bool
}

func (r *readings) agree(rank int) {
	switch {
	case rank < 0:
	case r.rank < 0:
		r.rank = rank
	case rank != r.rank:
		r.ok = false
	}
}

// add matches p read with its parameters cut and kept, and with its
// letters outside ASCII folded and not.
func (r *readings) add(p []byte) {
	r.match(p)
	if !ascii(p) {
		var buf [512]byte
		if f := foldToASCII(buf[:0], p); !bytes.Equal(f, p) {
			r.match(f)
		}
	}
}

func (r *readings) match(p []byte) {
	r.agree(r.t.Match(r.method, p))
	if bytes.IndexByte(p, ';') >= 0 {
		r.agree(r.t.MatchLiteral(r.method, p))
	}
}

func ascii(p []byte) bool {
	for _, c := range p {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldToASCII appends p to dst with every letter whose upper or lower
// case is an ASCII letter replaced by that letter (ſ by S, K by k, ı by
// I, İ by i); the trie compares ASCII without regard to case.
func foldToASCII(dst, p []byte) []byte {
	for len(p) > 0 {
		c, n := utf8.DecodeRune(p)
		if c >= utf8.RuneSelf {
			if l := unicode.ToLower(c); l < utf8.RuneSelf && unicode.IsLetter(l) {
				c = l
			} else if u := unicode.ToUpper(c); u < utf8.RuneSelf && unicode.IsLetter(u) {
				c = u
			}
		}
		if c < utf8.RuneSelf {
			dst = append(dst, byte(c))
		} else {
			dst = append(dst, p[:n]...)
		}
		p = p[n:]
	}
	return dst
}

// hasEscapedSlash reports whether p holds "%2F" in either letter case.
func hasEscapedSlash(p []byte) bool {
	for {
		i := bytes.IndexByte(p, '%')
		if i < 0 || i+2 >= len(p) {
			return false
		}
		if p[i+1] == '2' && p[i+2]|0x20 == 'f' {
			return true
		}
		p = p[i+1:]
	}
}

// keepEscapedSlashes appends raw to dst percent-decoded, except that
// "%2F" stays as the three characters "%2f": the path as a server reads it
// that splits segments before decoding them. raw holds only well-formed
// escapes (plainPath).
func keepEscapedSlashes(dst, raw []byte) []byte { return unescape(dst, raw, true) }

// unescapeOnce appends p to dst with its well-formed escapes decoded.
func unescapeOnce(dst, p []byte) []byte { return unescape(dst, p, false) }

// unescape appends p to dst with its well-formed escapes decoded, but
// "%2F" kept as "%2f" when keepSlash.
func unescape(dst, p []byte, keepSlash bool) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' || i+2 >= len(p) || !routematch.IsHex(p[i+1]) || !routematch.IsHex(p[i+2]) {
			dst = append(dst, c)
			continue
		}
		if b := unhex(p[i+1])<<4 | unhex(p[i+2]); b != '/' || !keepSlash {
			dst = append(dst, b)
		} else {
			dst = append(dst, "%2f"...)
		}
		i += 2
	}
	return dst
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// forwardedRaw returns the part of the request's path as sent (raw) after
// /proxy/{project} when it is what appendPath forwards, else nil.
func forwardedRaw(raw, project []byte) []byte {
	if rest, ok := bytes.CutPrefix(raw, []byte(pathProxy)); ok {
		if rest, ok = bytes.CutPrefix(rest, project); ok && len(rest) > 0 && rest[0] == '/' && routematch.PlainPath(rest) {
			return rest
		}
	}
	return nil
}
