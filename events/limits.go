package events

import (
	"slices"
	"unicode/utf8"
)

// Bounds of what a request event stores, so that a client cannot make
// one event (and the log) arbitrarily large. A value that was cut ends
// in CutMarker and is at most its bound long.
const (
	// MaxPathBytes bounds a request event's path.
	MaxPathBytes = 1024
	// MaxFieldNameBytes bounds each stored field name.
	MaxFieldNameBytes = 256
	// MaxFieldNames bounds how many field names are stored; when a
	// request names more, the first MaxFieldNames-1 are stored and the
	// last stored name is CutMarker.
	MaxFieldNames = 64
	// CutMarker ends a value that was cut.
	CutMarker = "…(cut)"
)

// SetFields stores the names of a comma-separated list (X-Qanapi-Fields),
// trimmed, empty ones left out, each cut to MaxFieldNameBytes and at most
// MaxFieldNames of them. FieldCount still counts every name.
func (r *Request) SetFields(b []byte) {
	n := len(r.arena)
	r.arena, r.nfields = appendNames(r.arena, b)
	r.fields = r.since(n)
}

// SetResponseFields stores the names of the fields of the response phase,
// as SetFields does.
func (r *Request) SetResponseFields(b []byte) {
	n := len(r.arena)
	r.arena, _ = appendNames(r.arena, b)
	r.respFields = r.since(n)
}

// appendNames appends the names of list b to dst (see SetFields) and
// returns it with the count of all names.
func appendNames(dst, b []byte) (_ []byte, count int) {
	if n := min(len(b), MaxFieldNames*(MaxFieldNameBytes+1)); cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n) // one allocation, as a plain copy takes
	}
	start := len(dst)
	last := start // where the last stored name starts
	// The loop of forEachField, written out: through a func value b
	// would escape, and callers' bytes with it.
	for len(b) > 0 {
		var f []byte
		if i := indexByte(b, ','); i >= 0 {
			f, b = b[:i], b[i+1:]
		} else {
			f, b = b, nil
		}
		if f = trimSpace(f); len(f) == 0 {
			continue
		}
		count++
		switch {
		case count > MaxFieldNames+1:
		case count == MaxFieldNames+1:
			dst = append(dst[:last], CutMarker...)
		default:
			if count > 1 {
				dst = append(dst, ',')
			}
			last = len(dst)
			dst = appendCapped(dst, f, MaxFieldNameBytes)
		}
	}
	return dst, count
}

// appendCapped appends b to dst, or, when b is longer than limit bytes,
// as much of it as fits before CutMarker, cut at a character boundary.
// It allocates only when dst must grow.
func appendCapped(dst, b []byte, limit int) []byte {
	if len(b) <= limit {
		return append(dst, b...)
	}
	n := limit - len(CutMarker)
	for i := 1; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(b[n]); i++ {
		n--
	}
	return append(append(dst, b[:n]...), CutMarker...)
}
