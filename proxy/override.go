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
	case hasPrefixFold(ct, "multipart/form-data"):
		return multipartHasMethod(body, ct)
	}
	return false
}

// multipartHasMethod reports whether a multipart form may have a part
// named _method for some reader of it. Readers differ (Go's, PHP's and
// Rack's take different boundaries, dispositions and malformed
// parameters), so it does not parse the form: every line of the body
// that starts with Content-Disposition (any letter case, after spaces,
// with the lines folded under it) is read leniently for a name parameter
// whose value is _method (isMethodParam): name=, quoted or not, with
// backslash escapes; name*= in RFC 2231's encoding (a charset and a
// language, then percent-escapes); or
// name*0=, name*1=… joined; whatever the disposition type, the other
// parameters or where the line stands. A Content-Type with more than one
// boundary parameter counts as having one. One pass over the body, no
// allocation per part.
func multipartHasMethod(body, ct []byte) bool {
	if countFold(ct, "boundary") > 1 {
		return true // readers disagree on which one applies
	}
	if indexFold(body, "method") < 0 && indexFold(body, "name*") < 0 {
		return false // _method cannot be spelt without the letters or an RFC 2231 encoding
	}
	const cd = "content-disposition"
	for rest := body; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimLeft(line, " \t")
		if !hasPrefixFold(line, cd) {
			continue
		}
		value := line[len(cd):]
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') { // folded lines
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				i = len(rest) - 1
			}
			value = append(value[:len(value):len(value)], rest[:i+1]...)
			rest = rest[i+1:]
		}
		if dispositionNamesMethod(value) {
			return true
		}
	}
	return false
}

// dispositionNamesMethod reports whether a Content-Disposition header's
// value (after the header's name) has a name parameter, in any of its
// spellings, that is _method.
func dispositionNamesMethod(v []byte) bool {
	var parts [][]byte // name*0, name*1…, by number
	for len(v) > 0 {
		param := v
		if i := bytes.IndexByte(v, ';'); i >= 0 {
			param, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		k, val, ok := bytes.Cut(param, []byte("="))
		if !ok {
			continue
		}
		k, val = bytes.Trim(k, " \t\r\n:"), unquoteLenient(bytes.Trim(val, " \t\r\n"))
		if len(k) < 4 || !equalFold(k[:4], "name") {
			continue
		}
		switch rest := k[4:]; {
		case len(rest) == 0:
			if isMethodParam(bytes.TrimSpace(val)) {
				return true
			}
		case string(rest) == "*":
			if isMethodParam(bytes.TrimSpace(percentDecode(stripCharset(val)))) {
				return true
			}
		case rest[0] == '*':
			num, encoded := bytes.CutSuffix(rest[1:], []byte("*"))
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

// unquoteLenient returns a parameter's value: a quoted one up to its
// closing quote (or the end), without the backslashes that escape
// characters in it; any other as it is.
func unquoteLenient(v []byte) []byte {
	if len(v) == 0 || v[0] != '"' {
		return v
	}
	v = v[1:]
	end := len(v)
	escaped := false
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			escaped = true
			i++
		} else if v[i] == '"' {
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

// percentDecode decodes %XX escapes, keeping a % that does not start one.
func percentDecode(v []byte) []byte {
	if bytes.IndexByte(v, '%') < 0 {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			out = append(out, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		out = append(out, v[i])
	}
	return out
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
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
