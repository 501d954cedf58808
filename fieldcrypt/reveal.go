package fieldcrypt

import (
	"fmt"
	"slices"
)

// RevealOptions shape a lenient decryption (Reveal). The zero value reveals
// plaintexts.
type RevealOptions struct {
	// Mask, when non-nil, replaces each opened plaintext by a masked JSON
	// string (see Mask) instead of the plaintext. nil writes the plaintext
	// (unless MaskFor is set).
	Mask *Mask
	// MaskFor, when non-nil, masks every opened plaintext too, each with
	// the mask it returns for the token's classification ("none" for
	// untagged tokens; cls is valid only during the call and must not be
	// kept or modified). A nil result means Mask, or DefaultMask when Mask
	// is nil as well, so with MaskFor set no plaintext is ever written.
	// It is called once per opened token, after the token opened; it must
	// be safe for concurrent use if the options are shared.
	MaskFor func(cls []byte) *Mask
}

// masked reports whether o masks opened values.
func (o *RevealOptions) masked() bool { return o.Mask != nil || o.MaskFor != nil }

// maskOf returns the mask of a token of classification cls.
func (o *RevealOptions) maskOf(cls []byte) *Mask {
	if o.MaskFor != nil {
		if m := o.MaskFor(cls); m != nil {
			return m
		}
	}
	if o.Mask != nil {
		return o.Mask
	}
	return &DefaultMask
}

// RevealCounts say what one Reveal did with the token strings it found at
// the named paths. Values that are not tokens are in neither count.
type RevealCounts struct {
	// Opened is the number of tokens replaced by their plaintext (or its
	// mask).
	Opened int
	// Untransformed is the number of tokens that could not be opened and
	// were left exactly as they were: sealed for another project, tampered,
	// of an unknown or retired key version, bound to another path, or of a
	// classification that Params.Classification or Params.Allow refuses.
	Untransformed int
	// Erased is how many of the Untransformed tokens were sealed for a
	// subject that has been erased (ErrSubjectErased).
	Erased int
}

// Reveal is the decryption of a response: it never fails for one bad value.
// Like Decrypt, it appends to dst a copy of doc in which every token string
// at a path of f (each element, for an array) is replaced by its plaintext,
// or, with o.Mask or o.MaskFor, by the plaintext masked. Unlike Decrypt:
//   - a named value that is not a token string is copied unchanged and not
//     counted (data written before a rule existed);
//   - a token that cannot be opened, for any reason, including a
//     classification refused by Params.Classification or by Params.Allow
//     (whose error is not returned), is copied unchanged and counted in
//     Untransformed.
//
// The error is only about the document (ErrInvalidJSON, ErrTooDeep,
// ErrDuplicateKey) or the limits of p: Params.MaxValues counts the token
// strings found, before any is opened (ErrTooManyValues), and
// Params.MaxOutput the bytes appended, as the output grows
// (ErrOutputTooLarge; a masked value may be longer than its plaintext). On
// error Reveal returns dst unchanged and zero counts, but for those two
// limits: then Untransformed counts the token strings found, none of
// which was opened (the caller may pass the document on as it is and say
// so).
//
// Params.BindFields does not matter: bound tokens open only at their path,
// as with Decrypt. With a pre-sized dst Reveal does not allocate
// (TestRevealAllocs).
func Reveal(dst, doc []byte, f Fields, p *Params, o RevealOptions) ([]byte, RevealCounts, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.locate(doc, f, false, true); err != nil {
		return dst, RevealCounts{}, fmt.Errorf("fieldcrypt.Reveal: %w", err)
	}
	out, counts, err := s.revealSpans(dst, doc, p, &o)
	if err != nil {
		return dst, RevealCounts{Untransformed: counts.Untransformed}, fmt.Errorf("fieldcrypt.Reveal: %w", err)
	}
	return out, counts, nil
}

// revealSpans writes doc to dst with every located token string opened
// (and masked, as o says) where it can be, and left as it is where it cannot.
func (s *scratch) revealSpans(dst, doc []byte, p *Params, o *RevealOptions) ([]byte, RevealCounts, error) {
	var c RevealCounts
	if exceeds(len(s.sc.spans), p.MaxValues) {
		if n := countTokens(doc, s.sc.spans); exceeds(n, p.MaxValues) {
			return dst, RevealCounts{Untransformed: n}, ErrTooManyValues
		}
	}
	orig, hint := dst, len(doc)
	if p.MaxOutput > 0 {
		hint = min(hint, p.MaxOutput)
	}
	dst = slices.Grow(dst, hint)
	prev := 0
	for i, sp := range s.sc.spans {
		v := doc[sp.start:sp.end]
		if !isTokenString(v) {
			continue
		}
		dst = append(dst, doc[prev:sp.start]...)
		var ok bool
		if dst, ok = s.revealToken(dst, v, s.sc.path(i), p, o); ok {
			c.Opened++
		} else {
			c.Untransformed++
			dst = append(dst, v...)
		}
		if exceeds(len(dst)-len(orig), p.MaxOutput) {
			return orig, RevealCounts{Untransformed: countTokens(doc, s.sc.spans)}, ErrOutputTooLarge
		}
		prev = sp.end
	}
	if exceeds(len(dst)-len(orig)+len(doc)-prev, p.MaxOutput) {
		return orig, RevealCounts{Untransformed: countTokens(doc, s.sc.spans)}, ErrOutputTooLarge
	}
	c.Erased = s.erased
	return append(dst, doc[prev:]...), c, nil
}

// countTokens returns the number of spans of doc that are token strings.
func countTokens(doc []byte, spans []span) int {
	n := 0
	for _, sp := range spans {
		if isTokenString(doc[sp.start:sp.end]) {
			n++
		}
	}
	return n
}

// revealToken appends the plaintext of the token string v, found at path,
// or its mask when o masks, and reports whether the token opened. When it
// did not, dst comes back unchanged.
func (s *scratch) revealToken(dst, v, path []byte, p *Params, o *RevealOptions) ([]byte, bool) {
	tok := v[1 : len(v)-1]
	if !o.masked() {
		out, _, err := s.openToken(dst, tok, path, p)
		return out, err == nil
	}
	// A plaintext is shorter than its token: with this room, opening
	// allocates nothing, even when it fails.
	s.plain = slices.Grow(s.plain[:0], len(tok))
	plain, cls, err := s.openToken(s.plain, tok, path, p)
	if s.plain = plain; err != nil {
		return dst, false
	}
	return o.maskOf(cls).appendMasked(dst, plain), true
}
