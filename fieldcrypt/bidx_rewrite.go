package fieldcrypt

import (
	"fmt"
	"slices"
)

// bidxEdit is one change of an indexed call besides the sealed spans: an
// insertion of a sibling at at (end == at), or the deletion of the bytes
// [at, end) (an old sibling and the separator before or after it).
type bidxEdit struct {
	at, end int
	vstart  int   // insertions: where the indexed value starts
	rule    int32 // insertions: the rule
	val     int32 // insertions: the index in vals, or -1 for null
	ins     bool
	// del marks a member to delete as the walk records it: the member is
	// [at, end), prev the end of the value before it (-1: first member)
	// and next the start of the key after it (-1: last member).
	// mergeDeletions turns these into byte ranges with their separators.
	del        bool
	prev, next int
}

// EncryptIndexed is Encrypt that also writes the blind indexes of x: beside
// each value of an indexed path, in the same object, a member named by the
// rule holds the index of the value's plaintext (or null for a JSON null).
// A member of that name already there (an app sending back a record it
// read), or one differing from it only in ASCII letter case, is replaced,
// never duplicated. Every indexed path must be a path of f (else
// ErrInvalidIndex) and each indexed value must be one that f seals whole
// (not inside an outer sealed value, else ErrIndexNotEncrypted); an object
// or array at an indexed path is ErrIndexNotScalar. Both come as an
// *IndexError naming the field. Indexes are computed before anything is
// sealed; keys calls IndexKey once per rule that has a value. On any error
// dst is returned unchanged. With x empty it is Encrypt.
//
// doc is validated and its spans found in one pass (as Encrypt); the
// validated document is then walked once more, along the indexed paths
// of every rule at the same time (subtrees no path enters are skipped),
// to find the values and old siblings; the output is written in one
// append loop.
func EncryptIndexed(dst, doc []byte, f Fields, x Index, keys IndexKeys, p *Params) ([]byte, error) {
	if len(x.rules) == 0 {
		return Encrypt(dst, doc, f, p)
	}
	if name := x.CoveredBy(f); name != "" {
		return dst, fmt.Errorf("fieldcrypt.EncryptIndexed: %w: %s is indexed but not among the fields to encrypt", ErrInvalidIndex, name)
	}
	if err := overwritten(x, f); err != nil {
		return dst, fmt.Errorf("fieldcrypt.EncryptIndexed: %w", err)
	}
	s := getScratch()
	defer putScratch(s)
	if err := s.locateStrict(doc, f, p.BindFields); err != nil {
		return dst, fmt.Errorf("fieldcrypt.EncryptIndexed: %w", err)
	}
	b := getBidxScratch()
	defer putBidxScratch(b)
	if err := b.plan(doc, x, keys, s.sc.spans); err != nil {
		return dst, fmt.Errorf("fieldcrypt.EncryptIndexed: %w", err)
	}
	out, err := b.write(dst, doc, s, x, p)
	if err != nil {
		return dst, fmt.Errorf("fieldcrypt.EncryptIndexed: %w", err)
	}
	return out, nil
}

// overwritten is Overwrites as an error.
func overwritten(x Index, f Fields) error {
	if e := x.Overwrites(f); e != nil {
		return e
	}
	return nil
}

// OverwriteError is the error of fields to encrypt that name a member
// where an index is written (Index.Overwrites): the value would be lost.
// It wraps ErrInvalidIndex.
type OverwriteError struct {
	Field   string // the path named for encryption
	Indexed string // the indexed field whose sibling it is
	Sibling string // that index's path (its sibling's)
}

func (e *OverwriteError) Error() string {
	return ErrInvalidIndex.Error() + ": " + e.Message()
}

// Message says what is refused and why, without the sentinel's prefix.
func (e *OverwriteError) Message() string {
	const fix = ": the index would replace its value; encrypt it under another name, or give the index another name"
	if e.Field == e.Sibling {
		return "the fields to encrypt name " + e.Field + ", where the index of " + e.Indexed + " is written" + fix
	}
	return "the fields to encrypt name " + e.Field + ", and the index of " + e.Indexed + " is written at " + e.Sibling +
		", which that names too (in another letter case, with other separators or dots, or through a *)" + fix
}

func (e *OverwriteError) Unwrap() error { return ErrInvalidIndex }

// CheckEncryptIndexed reports what EncryptIndexed would refuse doc for
// (CheckEncrypt's refusals, an index that is not among f's paths, and
// the *IndexError of a value that is a container or is inside one sealed
// whole), or nil, without keys and without writing anything: for a
// preview of what a request would do.
func CheckEncryptIndexed(doc []byte, f Fields, x Index) error {
	if name := x.CoveredBy(f); name != "" {
		return fmt.Errorf("fieldcrypt.EncryptIndexed: %w: %s is indexed but not among the fields to encrypt", ErrInvalidIndex, name)
	}
	if err := overwritten(x, f); err != nil {
		return fmt.Errorf("fieldcrypt.EncryptIndexed: %w", err)
	}
	s := getScratch()
	defer putScratch(s)
	if err := s.locateStrict(doc, f, false); err != nil {
		return err
	}
	b := getBidxScratch()
	defer putBidxScratch(b)
	return b.plan(doc, x, nil, s.sc.spans)
}

// plan finds the edits of every rule, checks them against the sealed
// spans, and computes the index values (none when keys is nil).
func (b *bidxScratch) plan(doc []byte, x Index, keys IndexKeys, spans []span) error {
	b.edits, b.vals, b.keep = b.edits[:0], b.vals[:0], b.keep[:0]
	b.findEdits(doc, x)
	if len(b.edits) == 0 {
		// No indexed value and no old sibling: every span is sealed,
		// as Encrypt seals them.
		for i := range spans {
			b.keep = append(b.keep, int32(i))
		}
		return nil
	}
	if err := b.mergeDeletions(); err != nil {
		return err
	}
	// Spans wholly inside a deleted old sibling are dropped; every
	// indexed value must be a span of its own.
	j := 0
	for i, sp := range spans {
		for j < len(b.edits) && (b.edits[j].ins || b.edits[j].end <= sp.start) {
			j++
		}
		if j < len(b.edits) && b.edits[j].at <= sp.start {
			continue // inside the deletion: sp.end <= end on a valid doc
		}
		b.keep = append(b.keep, int32(i))
	}
	var cur *IndexKey
	curRule := int32(-1)
	for i := range b.edits {
		e := &b.edits[i]
		if !e.ins {
			continue
		}
		r := &x.rules[e.rule]
		if c := doc[e.vstart]; c == '{' || c == '[' {
			return &IndexError{Field: r.field, Err: ErrIndexNotScalar}
		}
		if !b.sealed(spans, e.vstart, e.at) {
			return &IndexError{Field: r.field, Err: ErrIndexNotEncrypted}
		}
		if doc[e.vstart] == 'n' {
			e.val = -1
			continue
		}
		if keys == nil {
			continue // CheckEncryptIndexed: no values
		}
		if e.rule != curRule {
			var err error
			if cur, err = keys.IndexKey(r.key); err != nil {
				return err
			}
			curRule = e.rule
		}
		e.val = int32(len(b.vals))
		b.vals = b.appendIndex(b.vals, cur, r, doc[e.vstart:e.at])
	}
	return nil
}

// findEdits records in b.edits what every rule of x finds in doc, in one
// walk: the insertions of indexes and the old siblings to delete (as
// members).
//
// A rule given whose path names a dotted key and no * also has the old
// siblings at its other spellings' places deleted, even where their key
// is absent, once it has written an index under some spelling: stores
// that expand dots hold every spelling at one path, so {"profile.email":
// …, "profile": {"email_bidx": "planted"}} would give
// profile.email_bidx two values, one planted. (Under a *, each element is
// a record of its own: its siblings are left alone.) The walk notes the
// old siblings of such spellings' objects that lack the key too, as
// orphans, kept once it is known which rules wrote an index.
func (b *bidxScratch) findEdits(doc []byte, x Index) {
	b.act, b.orph = b.act[:0], b.orph[:0]
	w := bidxWalk{doc: doc, b: b, rules: x.rules}
	for i := range x.rules {
		b.act = append(b.act, bidxAt{rule: int32(i)})
		if r := &x.rules[i]; x.named < len(x.rules) && x.hasSpellings(r.from) && !slices.ContainsFunc(r.segs, func(s segment) bool { return s.wild }) {
			w.orphans |= 1 << i
		}
	}
	w.walk(b.act)
	if len(b.orph) > 0 {
		b.keepOrphans(x)
	}
}

// keepOrphans adds to b.edits the deletions of b.orph whose rule given
// has written an index (an insertion in b.edits).
func (b *bidxScratch) keepOrphans(x Index) {
	var wrote uint64
	for _, e := range b.edits {
		if e.ins {
			wrote |= 1 << x.rules[e.rule].from
		}
	}
	for _, e := range b.orph {
		if wrote&(1<<x.rules[e.rule].from) != 0 {
			b.edits = append(b.edits, e)
		}
	}
}

// mergeDeletions turns the member deletions that the rules' walks
// recorded into byte ranges that remove each old sibling with one
// separator: runs of neighbouring deleted members (perhaps of different
// rules) go as one range, the comma after them when a member follows,
// else the comma before them. The same member found by two rules is
// deleted once. Afterwards the edits are sorted by position (insertions
// before a deletion at the same place) and overlap nowhere; if they would
// (an indexed value inside an old sibling), the request is refused rather
// than the document cut wrongly.
func (b *bidxScratch) mergeDeletions() error {
	slices.SortFunc(b.edits, editOrder)
	edits, out := b.edits, b.edits[:0] // out never passes the edit read
	for i := 0; i < len(edits); {
		first := edits[i]
		i++
		if !first.del {
			out = append(out, first)
			continue
		}
		last := first
		for i < len(edits) && edits[i].del {
			d := edits[i]
			if d.at != last.at { // not the same member again
				if last.next != d.at {
					break
				}
				last = d
			}
			i++
		}
		switch {
		case last.next >= 0: // a member follows: take the comma after
			out = append(out, bidxEdit{at: first.at, end: last.next})
		case first.prev >= 0: // the object's last members: the comma before
			out = append(out, bidxEdit{at: first.prev, end: last.end})
		default: // every member
			out = append(out, bidxEdit{at: first.at, end: last.end})
		}
	}
	b.edits = out
	slices.SortFunc(b.edits, editOrder)
	pos := 0
	for _, e := range b.edits {
		if e.at < pos {
			return fmt.Errorf("%w: an indexed value or an old sibling lies inside another old sibling", ErrInvalidIndex)
		}
		if !e.ins {
			pos = e.end
		}
	}
	return nil
}

// editOrder sorts edits by position, an insertion before a deletion at
// the same place.
func editOrder(a, c bidxEdit) int {
	if a.at != c.at {
		return a.at - c.at
	}
	if a.ins != c.ins {
		if a.ins {
			return -1
		}
		return 1
	}
	return 0
}

// sealed reports whether [start, end) is one of the kept spans.
func (b *bidxScratch) sealed(spans []span, start, end int) bool {
	i, ok := slices.BinarySearchFunc(b.keep, start, func(k int32, v int) int { return spans[k].start - v })
	return ok && spans[b.keep[i]].end == end
}

// write appends doc with the kept spans sealed and the edits applied.
func (b *bidxScratch) write(dst, doc []byte, s *scratch, x Index, p *Params) ([]byte, error) {
	spans := s.sc.spans
	z := s.newSealer(p)
	size := len(doc)
	for _, k := range b.keep {
		sp := spans[k]
		size += z.tokenLenSansVersion(sp.end-sp.start) + 2 - (sp.end - sp.start)
	}
	for _, e := range b.edits {
		switch {
		case !e.ins:
			size -= e.end - e.at
		case e.val < 0:
			size += len(`,"":null`) + len(x.rules[e.rule].name)
		default:
			size += len(`,"":""`) + len(x.rules[e.rule].name) + indexLen(x.rules[e.rule].size)
		}
	}
	p.Values = 0
	n := len(b.keep)
	if n == 0 {
		// Only old siblings can be left to delete: nothing is sealed.
		if exceeds(0, p.MaxValues) {
			return dst, ErrTooManyValues
		}
		if exceeds(size, p.MaxOutput) {
			return dst, ErrOutputTooLarge
		}
	} else {
		var err error
		if size, err = z.begin(p, n, size); err != nil {
			return dst, err
		}
	}
	dst = slices.Grow(dst, size)
	prev, j := 0, 0
	for _, k := range b.keep {
		sp := spans[k]
		for ; j < len(b.edits) && b.edits[j].at <= sp.start; j++ {
			dst, prev = b.apply(dst, doc, prev, &b.edits[j], x)
		}
		dst = append(append(dst, doc[prev:sp.start]...), '"')
		dst = append(z.appendToken(dst, doc[sp.start:sp.end], s.sc.path(int(k))), '"')
		prev = sp.end
	}
	for ; j < len(b.edits); j++ {
		dst, prev = b.apply(dst, doc, prev, &b.edits[j], x)
	}
	p.Values = n
	return append(dst, doc[prev:]...), nil
}

// apply appends doc[prev:e.at] and the edit, and returns the new prev.
func (b *bidxScratch) apply(dst, doc []byte, prev int, e *bidxEdit, x Index) ([]byte, int) {
	dst = append(dst, doc[prev:e.at]...)
	if !e.ins {
		return dst, e.end
	}
	r := &x.rules[e.rule]
	dst = append(append(append(dst, ',', '"'), r.name...), '"', ':')
	if e.val < 0 {
		return append(dst, "null"...), e.at
	}
	v := b.vals[e.val : int(e.val)+indexLen(r.size)]
	return append(append(append(dst, '"'), v...), '"'), e.at
}
