package bodycodec

import (
	"bytes"
	"fmt"
)

// MaxCodings is the most codings (identity aside) that one Content-Encoding
// may list.
const MaxCodings = 2

// coding is one content coding other than identity.
type coding uint8

const (
	codingGzip    coding = iota + 1 // gzip, x-gzip (RFC 1952)
	codingDeflate                   // deflate: zlib (RFC 1950), or raw deflate (RFC 1951) as many servers send
	codingBrotli                    // br (RFC 7932)
)

// codings are the codings of one Content-Encoding, in the order they were
// applied.
type codings struct {
	list [MaxCodings]coding
	n    int
}

// parseCodings parses a Content-Encoding value: a comma-separated list of
// coding names, any letter case, with optional spaces and tabs around each.
// Empty elements and identity are skipped (RFC 9110 §5.6.1, §8.4.1). When
// the value is not supported, ok is false and bad is the first name not
// known, or nil when there are too many codings.
func parseCodings(enc []byte) (cs codings, bad []byte, ok bool) {
	for len(enc) > 0 {
		var name []byte
		name, enc, _ = bytes.Cut(enc, []byte{','})
		name = bytes.Trim(name, " \t")
		c, known := lookup(name)
		switch {
		case !known:
			return cs, name, false
		case c == 0:
			continue
		case cs.n == MaxCodings:
			return cs, nil, false
		}
		cs.list[cs.n] = c
		cs.n++
	}
	return cs, nil, true
}

// unsupported returns the error of an unsupported Content-Encoding.
func unsupported(bad []byte) error {
	if bad == nil {
		return fmt.Errorf("%w: more than %d codings", ErrUnsupported, MaxCodings)
	}
	return fmt.Errorf("%w %q", ErrUnsupported, bad)
}

// lookup returns the coding of a name, 0 for identity and empty names.
func lookup(name []byte) (coding, bool) {
	switch {
	case len(name) == 0 || bytes.EqualFold(name, []byte("identity")):
		return 0, true
	case bytes.EqualFold(name, []byte("gzip")) || bytes.EqualFold(name, []byte("x-gzip")):
		return codingGzip, true
	case bytes.EqualFold(name, []byte("deflate")):
		return codingDeflate, true
	case bytes.EqualFold(name, []byte("br")):
		return codingBrotli, true
	}
	return 0, false
}

// Supported reports whether Decode can decode a body of Content-Encoding
// enc: every coding listed is gzip, x-gzip, deflate, br or identity (any
// letter case), with at most MaxCodings of them besides identity. An empty
// enc is supported.
func Supported(enc []byte) bool {
	_, _, ok := parseCodings(enc)
	return ok
}
