package proxy

import (
	"bytes"

	"github.com/sdproxy/sdproxy/internal/routematch"
)

// routeRank returns the rank of the route for method and the request's
// path, or -1, reading the path every way an upstream may read it: path
// is the server's reading (decoded, dot segments resolved, after
// /proxy/{id}); raw is the path as sent when that is what is forwarded
// (see forwardedRaw), else nil. Two readings can differ:
//
//   - a segment's ";parameters": Tomcat, Jetty and Spring cut them before
//     routing, Go, Node and nginx keep them as part of the segment, so
//     "/posts/;x" is "/posts/" to one and has the segment ";x" to the other;
//   - an escaped slash in raw: "/users/a%2Fb" has two segments once
//     decoded and one to a server that routes on the path as sent;
//   - an escaped '?' or '#' (%3F, %23): a server (or a proxy in front of
//     it) that decodes the path and parses it again as a URL ends the
//     path there, so "/users/7%23/x" is "/users/7".
//
// A reading that matches no route is no concern (the upstream would then
// serve a path that no rule covers in any spelling), so the rank is the
// one route every reading that matches at all agrees on. ok is false when
// two readings match different routes: no one route's rules can be
// applied safely.
//
// Paths with neither cost one scan; routeRank does not allocate for
// paths up to 512 bytes.
func routeRank(t *routematch.Trie, method, path, raw []byte) (rank int, ok bool) {
	rank = t.Match(method, path)
	params := bytes.IndexByte(path, ';') >= 0
	var buf [512]byte
	var kept []byte // raw decoded but for its escaped slashes
	if raw != nil && hasEscapedSlash(raw) {
		kept = keepEscapedSlashes(buf[:0], raw)
	}
	cut := bytes.IndexAny(path, "?#")
	if !params && kept == nil && cut < 0 {
		return rank, true
	}
	ok = true
	agree := func(r int) {
		switch {
		case r < 0:
		case rank < 0:
			rank = r
		case r != rank:
			ok = false
		}
	}
	if params {
		agree(t.MatchLiteral(method, path))
	}
	if cut >= 0 {
		agree(t.Match(method, path[:cut]))
		if bytes.IndexByte(path[:cut], ';') >= 0 {
			agree(t.MatchLiteral(method, path[:cut]))
		}
	}
	if kept != nil {
		agree(t.Match(method, kept))
		if bytes.IndexByte(kept, ';') >= 0 {
			agree(t.MatchLiteral(method, kept))
		}
	}
	return rank, ok
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
func keepEscapedSlashes(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) {
			hi, lo := unhex(raw[i+1]), unhex(raw[i+2])
			if b := hi<<4 | lo; b != '/' {
				dst = append(dst, b)
			} else {
				dst = append(dst, "%2f"...)
			}
			i += 2
			continue
		}
		dst = append(dst, c)
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
		if rest, ok = bytes.CutPrefix(rest, project); ok && len(rest) > 0 && rest[0] == '/' && plainPath(rest) {
			return rest
		}
	}
	return nil
}
