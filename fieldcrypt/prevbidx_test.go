package fieldcrypt

// The blind-index walk as it was before one walk served every rule
// (ddda5ee): one walk per rule and per orphaned spelling. Kept as the
// reference FuzzIndexWalk compares the walk with. Since: keys with dots
// that spell a sibling's path are dropped as orphans (indexRule.dotted),
// here compared as whole strings without separators (caseVariant).

import (
	"cmp"
	"slices"
	"strings"
	"testing"
)

type prevBidxWalk struct {
	doc     []byte
	b       *bidxScratch
	r       *indexRule
	rule    int32
	orphans bool
}

func (w *prevBidxWalk) member(i int) (ks, ke, vs int, ok bool) {
	return (&bidxWalk{doc: w.doc, b: w.b}).member(i)
}

func (w *prevBidxWalk) key(ks, ke int) []byte { return (&bidxWalk{doc: w.doc, b: w.b}).key(ks, ke) }

// prevFindEdits is findEdits with the walks of ddda5ee.
func (b *bidxScratch) prevFindEdits(doc []byte, x Index) {
	start := skipWS(doc, 0)
	for i := range x.rules {
		w := prevBidxWalk{doc: doc, b: b, r: &x.rules[i], rule: int32(i)}
		w.value(start, w.r.segs)
	}
	var wrote uint64
	for _, e := range b.edits {
		if e.ins {
			wrote |= 1 << x.rules[e.rule].from
		}
	}
	b.keepOrphans(x) // the dotted spellings of siblings (the live rule)
	if x.named == len(x.rules) {
		return
	}
	for i := range x.rules {
		r := &x.rules[i]
		if wrote&(1<<r.from) == 0 || !x.hasSpellings(r.from) || slices.ContainsFunc(r.segs, func(s segment) bool { return s.wild }) {
			continue
		}
		w := prevBidxWalk{doc: doc, b: b, r: r, rule: int32(i), orphans: true}
		w.value(start, r.segs)
	}
}

// value walks the value at doc[i] with segs (at least one) left to match
// and returns the index just after the value.
func (w *prevBidxWalk) value(i int, segs []segment) int {
	doc := w.doc
	switch doc[i] {
	case '{':
		if len(segs) == 1 {
			return w.parent(i, segs[0])
		}
		i++
		last := -1
		for {
			ks, ke, vs, ok := w.member(i)
			if !ok {
				return vs + 1
			}
			var ve int
			key := string(w.key(ks, ke))
			spells := false // a key with dots spelling the sibling's path from here (added since)
			if seg := &segs[0]; seg.wild || key == seg.key {
				ve = w.value(vs, segs[1:])
			} else {
				ve = skipJSON(doc, vs)
				if !w.orphans && w.r.dotted != nil && strings.Contains(key, ".") {
					k, n := stripWordSeps(key), stripWordSeps(w.r.dotted[len(w.r.segs)-len(segs)])
					spells = k == n || caseVariant([]byte(k), n)
				}
			}
			j := skipWS(doc, ve)
			if spells {
				next := -1
				if doc[j] == ',' {
					next = skipWS(doc, j+1)
				}
				w.b.orph = append(w.b.orph, bidxEdit{at: ks, end: ve, prev: last, next: next, del: true, rule: w.rule})
			}
			last = ve
			if doc[j] == '}' {
				return j + 1
			}
			i = j + 1
		}
	case '[':
		if len(segs) == 1 {
			return skipJSON(doc, i) // no object to put the index in
		}
		i = skipWS(doc, i+1)
		if doc[i] == ']' {
			return i + 1
		}
		for n := 0; ; n++ {
			var ve int
			if seg := &segs[0]; seg.wild || seg.index == n {
				ve = w.value(i, segs[1:])
			} else {
				ve = skipJSON(doc, i)
			}
			j := skipWS(doc, ve)
			if doc[j] == ']' {
				return j + 1
			}
			i = skipWS(doc, j+1)
		}
	}
	return skipJSON(doc, i)
}

// parent walks the object at doc[i] that may hold the indexed key seg and
// records its edits when it does: the insertion after the key's value,
// and each old sibling as a member deletion (bidxEdit.del) that plan turns
// into byte ranges once every rule has walked, since two rules may delete
// neighbouring members of one object.
func (w *prevBidxWalk) parent(i int, seg segment) int {
	doc, b := w.doc, w.b
	mark := len(b.edits)
	target, tend := -1, -1
	last := -1 // the end of the previous member's value; -1 before the first
	i++
	for {
		ks, ke, vs, ok := w.member(i)
		if !ok {
			i = vs + 1
			break
		}
		ve := skipJSON(doc, vs)
		j := skipWS(doc, ve)
		more := doc[j] == ','
		key := w.key(ks, ke)
		switch {
		case string(key) == seg.key:
			target, tend = vs, ve
		case OldSibling(string(key), w.r.name): // the rule, shared with the live walk
			// Any key that folds to the name, in Unicode as decoders that
			// match keys without regard to case do (ſ is s, K is k), or
			// is it in another normalisation (Swift): a planted one would
			// be read as the index.
			next := -1
			if more {
				next = skipWS(doc, j+1)
			}
			b.edits = append(b.edits, bidxEdit{at: ks, end: ve, prev: last, next: next, del: true})
		}
		last = ve
		i = j + 1
		if !more {
			break
		}
	}
	if (target < 0) != w.orphans {
		b.edits = b.edits[:mark]
		return i
	}
	if !w.orphans {
		b.edits = append(b.edits, bidxEdit{at: tend, end: tend, vstart: target, rule: w.rule, ins: true})
	}
	return i
}

// FuzzIndexWalk checks that the one walk for every rule (findEdits) finds
// exactly the edits that one walk per rule found (prevFindEdits), on any
// valid document and index list. Seeds are in testdata/fuzz/FuzzIndexWalk.
func FuzzIndexWalk(f *testing.F) {
	f.Add([]byte(body300), "user.email:lower_trim,order.card")
	f.Add([]byte(`{"phone_bidx":"x","email_bidx":"y","email":"a","phone":"p","Email_BIDX":1}`), "email,phone")
	f.Add([]byte(`{"items":[{"e":"x","e_bidx":null},{"e":null},[{"e":1}]],"e":2}`), "items.*.e,e,items.1.e")
	f.Add([]byte(`{"p.e":"1","p":{"e":"2","E_bidx":3,"p":{"e":4}},"p.e_bidx":4}`), `p\.e,p.p.e`)
	f.Add([]byte(`{"a.b":{"c.d":"1"},"a":{"b":{"c":{"d":"2","d_bidx":0}},"b.c":{"d":3}},"c.d_bidx":5}`), `a\.b.c\.d`)
	f.Add([]byte(`{"*":{"k":"1"},"x":{"k":"2","K_BIDX":"o"},"0":{"k":3}}`), `*.k,x.k:lower`)
	f.Add([]byte(`[{"k":"1"},{"k":"2","k_bidx":"o"}]`), `0.k,*.k`)
	f.Add([]byte(`{"ssn":"1","ſsn_bidx":"evil","s\u0073n":"2","caf\u00e9":"3","cafe\u0301_bidx":4}`), "ssn,café")
	f.Add([]byte(`{"email":"a","email_bidx\u0000":"x","email_bidx\u0000y":1,"Email\u0000_bidx":2}`), "email")
	f.Fuzz(func(t *testing.T, doc []byte, index string) {
		x, err := ParseIndex(index)
		if err != nil || Validate(doc) != nil {
			return
		}
		var nb, ob bidxScratch
		nb.findEdits(doc, x)
		ob.prevFindEdits(doc, x)
		order := func(a, c bidxEdit) int {
			return cmp.Or(editOrder(a, c), a.end-c.end, int(a.rule-c.rule), a.vstart-c.vstart, a.prev-c.prev, a.next-c.next)
		}
		for _, edits := range [][]bidxEdit{nb.edits, ob.edits} {
			for i := range edits {
				if edits[i].del {
					edits[i].rule = 0 // the one walk notes whose sibling it is; the old did not, always
				}
			}
		}
		slices.SortFunc(nb.edits, order)
		slices.SortFunc(ob.edits, order)
		if !slices.Equal(nb.edits, ob.edits) {
			t.Fatalf("doc %s, index %q:\none walk:  %+v\nper rule:  %+v", doc, index, nb.edits, ob.edits)
		}
	})
}
