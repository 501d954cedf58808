package proxy

import (
	"bytes"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// bodyHasMethod reports whether a POST's body (decoded, or as sent) holds
// a _method override as the frameworks that take one may read it: a
// top-level member of a JSON object, whatever the Content-Type (some read
// JSON by sniffing); a field of a urlencoded form; a part of a multipart
// form (multipartHasMethod). A BOM before it is skipped, as some parsers
// do.
func bodyHasMethod(body, ct []byte) bool {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if firstByte(body) == '{' && mayHoldMethodKey(body) && gjson.GetBytes(body, "_method").Exists() {
		return true
	}
	switch {
	case hasPrefixFold(ct, "application/x-www-form-urlencoded"):
		args := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		args.ParseBytes(body)
		return hasMethodArg(args)
	case hasPrefixFold(ct, "multipart/"): // Rack reads mixed and related ones as forms too
		return multipartHasMethod(body, ct)
	}
	return false
}

// multipartHasMethod reports whether a multipart form may have a part
// named _method for some reader of it. Readers differ (Go's, PHP's and
// Rack's take different boundaries, dispositions and malformed
// parameters), so it does not parse the form: in every block of header
// lines (the non-empty lines after a line that starts with "--", any
// boundary's), a Content-Disposition (any letter case, with the lines
// folded under it) is read leniently for a name parameter that is
// _method (dispositionNamesMethod), whatever the disposition type, and a
// Content-ID that is _method counts too (Rack names a part by it). A
// Content-Type with more than one boundary parameter counts as having
// one. One pass over the body, no allocation per part; a disposition
// folded over more than maxDisposition bytes counts as having one.
func multipartHasMethod(body, ct []byte) bool {
	if boundaryParams(ct) > 1 {
		return true // readers disagree on which one applies
	}
	if indexFold(body, "method") < 0 && indexFold(body, "name*") < 0 {
		return false // _method cannot be spelt without the letters or an RFC 2231 encoding
	}
	var folded []byte
	headers := false
	for rest := body; len(rest) > 0; {
		line := nextLine(&rest)
		switch {
		case bytes.HasPrefix(line, []byte("--")):
			headers = true
			continue
		case !headers:
			continue
		case len(bytes.TrimRight(line, "\r\n")) == 0:
			headers = false
			continue
		}
		line = bytes.TrimLeft(line, " \t")
		if hasPrefixFold(line, "content-id") {
			if v, ok := bytes.CutPrefix(bytes.TrimLeft(line[len("content-id"):], " \t"), []byte(":")); ok &&
				isMethodParam(bytes.Trim(v, " \t\r\n<>")) {
				return true
			}
			continue
		}
		if !hasPrefixFold(line, "content-disposition") {
			continue
		}
		value := line[len("content-disposition"):]
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			folded = append(folded[:0], value...)
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				folded = append(folded, nextLine(&rest)...)
				if len(folded) > maxDisposition {
					return true
				}
			}
			value = folded
		}
		if dispositionNamesMethod(value) {
			return true
		}
	}
	return false
}

// maxDisposition bounds a folded Content-Disposition header sdproxy reads.
const maxDisposition = 16 << 10

// nextLine cuts the next line, with its '\n', off *rest.
func nextLine(rest *[]byte) []byte {
	line := *rest
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line, *rest = line[:i+1], line[i+1:]
	} else {
		*rest = nil
	}
	return line
}

// boundaryParams counts the boundary parameters of a Content-Type (any
// letter case); a boundary's value that holds the word does not count.
func boundaryParams(ct []byte) int {
	n := 0
	for _, rest, more := bytes.Cut(ct, []byte(";")); more; {
		var p []byte
		p, rest, more = bytes.Cut(rest, []byte(";"))
		if k, _, ok := bytes.Cut(p, []byte("=")); ok && equalFold(bytes.TrimSpace(k), "boundary") {
			n++
		}
	}
	return n
}

// dispositionNamesMethod reports whether a Content-Disposition header's
// value (after the header's name) has a name parameter, in any spelling a
// reader takes, that is _method: name=, name*= (RFC 2231: a charset, a
// language, percent-escapes) or name*0=, name*1=… joined; wherever "name"
// starts after a space, a tab, ';' or a quote (Rack reads one after a
// quoted value with no ';' before it); its value quoted (", ') up to the
// closing quote, or unquoted up to ';' — and, for PHP, up to a space.
func dispositionNamesMethod(v []byte) bool {
	var parts [][]byte // name*0, name*1…, by number
	for at := 0; ; {
		i := indexFold(v[at:], "name")
		if i < 0 {
			break
		}
		i += at
		at = i + len("name")
		if i > 0 && bytes.IndexByte([]byte(" \t;\"':"), v[i-1]) < 0 {
			continue // filename, or part of a value
		}
		k := v[at:]
		eq := bytes.IndexByte(k, '=')
		if eq < 0 {
			break
		}
		suffix := bytes.TrimSpace(k[:eq])
		if bytes.ContainsAny(suffix, " \t;\"'=") {
			continue
		}
		val := k[eq+1:]
		if j := bytes.IndexByte(val, ';'); j >= 0 && firstNonSpace(val) != '"' && firstNonSpace(val) != '\'' {
			val = val[:j]
		}
		val = unquoteLenient(bytes.Trim(val, " \t\r\n"))
		switch {
		case len(suffix) == 0:
			if isMethodParam(bytes.TrimSpace(val)) || isMethodParam(firstWord(val)) {
				return true
			}
		case string(suffix) == "*":
			if isMethodParam(bytes.TrimSpace(percentDecode(stripCharset(val)))) {
				return true
			}
		case suffix[0] == '*':
			num, encoded := bytes.CutSuffix(suffix[1:], []byte("*"))
			n, err := strconv.Atoi(string(num))
			if err != nil || n < 0 || n > 64 {
				continue
			}
			if encoded {
				val = percentDecode(stripCharset(val))
			}
			if n >= len(parts) {
				parts = append(parts, make([][]byte, n+1-len(parts))...)
			}
			parts[n] = val
		}
	}
	return len(parts) > 0 && isMethodParam(bytes.TrimSpace(bytes.Join(parts, nil)))
}

// firstNonSpace is the first byte of b that is not a space or a tab, or 0.
func firstNonSpace(b []byte) byte {
	if b = bytes.TrimLeft(b, " \t"); len(b) > 0 {
		return b[0]
	}
	return 0
}

// firstWord is b up to its first space or tab, leading ones skipped.
func firstWord(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t")
	if i := bytes.IndexAny(b, " \t"); i >= 0 {
		return b[:i]
	}
	return b
}

// unquoteLenient returns a parameter's value: a quoted one (" or ') up
// to its closing quote (or the end), without the backslashes that escape
// characters in it; any other as it is.
func unquoteLenient(v []byte) []byte {
	if len(v) == 0 || v[0] != '"' && v[0] != '\'' {
		return v
	}
	q := v[0]
	v = v[1:]
	end := len(v)
	escaped := false
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			escaped = true
			i++
		} else if v[i] == q {
			end = i
			break
		}
	}
	if !escaped {
		return v[:end]
	}
	out := make([]byte, 0, end)
	for i := 0; i < end; i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		out = append(out, v[i])
	}
	return out
}

// stripCharset removes RFC 2231's charset'language' before a value.
func stripCharset(v []byte) []byte {
	if i := bytes.IndexByte(v, '\''); i >= 0 {
		if j := bytes.IndexByte(v[i+1:], '\''); j >= 0 {
			return v[i+1+j+1:]
		}
	}
	return v
}

// percentDecode decodes %XX escapes (fasthttp's, which keeps a % that
// does not start one, and reads + as a space: for isMethodParam a space
// is as good as the _ PHP makes of it).
func percentDecode(v []byte) []byte {
	if bytes.IndexAny(v, "%+") < 0 {
		return v
	}
	return fasthttp.AppendUnquotedArg(nil, v)
}

// indexFold is bytes.Index of s, lower-case ASCII starting with a letter,
// in b, ignoring ASCII letter case. It reads b once: the next lower- and
// upper-case first letters are each searched for only when passed.
func indexFold(b []byte, s string) int {
	lo, up := s[0], s[0]-'a'+'A'
	next := func(at int, c byte) int {
		if i := bytes.IndexByte(b[at:], c); i >= 0 {
			return at + i
		}
		return len(b)
	}
	nl, nu := next(0, lo), next(0, up)
	for {
		j := min(nl, nu)
		if j+len(s) > len(b) {
			return -1
		}
		if equalFold(b[j:j+len(s)], s) {
			return j
		}
		if j == nl {
			nl = next(j+1, lo)
		} else {
			nu = next(j+1, up)
		}
	}
}

// countFold counts the occurrences of an ASCII lower-case s in b,
// ignoring ASCII letter case.
func countFold(b []byte, s string) int {
	n := 0
	for {
		i := indexFold(b, s)
		if i < 0 {
			return n
		}
		n++
		b = b[i+len(s):]
	}
}
