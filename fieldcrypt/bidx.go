package fieldcrypt

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Blind indexes. An indexed field gets a sibling member in the same object
// (by default "<key>_bidx") whose value is a keyed hash of the field's
// normalised plaintext, so that an application can look records up by
// equality without holding the plaintext: base64url, without padding, of
// HMAC-SHA-256(field key, normalised value) truncated to IndexRule.Bytes.
// The field key comes from IndexKeys, one per project and field path, so
// equal values under different fields or projects give unrelated indexes.
// docs/blind-index.md says what an index leaks.

// Normalization is how a value is normalised before it is hashed.
type Normalization uint8

// Normalizations. The zero value is NormExact.
const (
	// NormExact hashes the value as it is: the unescaped text of a
	// string, the JSON text of a number or boolean.
	NormExact Normalization = iota
	// NormLower lower-cases the text (Unicode simple case mapping, as
	// strings.ToLower; no other folding, no Unicode normalisation).
	NormLower
	// NormLowerTrim lower-cases and trims Unicode white space at both ends.
	NormLowerTrim
	// NormDigits keeps only the ASCII digits 0-9 (phone and card numbers).
	NormDigits
)

var normNames = [...]string{"exact", "lower", "lower_trim", "digits"}

// String returns the normalisation's name as written in rules.
func (n Normalization) String() string {
	if int(n) < len(normNames) {
		return normNames[n]
	}
	return fmt.Sprintf("Normalization(%d)", uint8(n))
}

// ParseNormalization reads a normalisation name: exact, lower, lower_trim
// or digits, case-insensitive; "" is exact.
func ParseNormalization(s string) (Normalization, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return NormExact, nil
	}
	for i, name := range normNames {
		if t == name {
			return Normalization(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown normalization %q (want exact, lower, lower_trim or digits)", ErrInvalidIndex, s)
}

// Index sizes, in bytes of the truncated HMAC.
const (
	// DefaultIndexBytes is the size of an index when a rule gives none:
	// 128 bits, so that two different values collide with probability
	// 2^-128 and a table of 2^32 values holds no collision in practice.
	DefaultIndexBytes = 16
	// MinIndexBytes and MaxIndexBytes bound IndexRule.Bytes.
	MinIndexBytes = 4
	MaxIndexBytes = sha256.Size
	// MaxIndexName is the longest sibling name, in bytes.
	MaxIndexName = 128
	// IndexSuffix makes the default sibling name: "email" gets "email_bidx".
	IndexSuffix = "_bidx"
)

// IndexRule asks for a blind index of one field.
type IndexRule struct {
	// Field is the field's path, in the Fields syntax. Its last segment
	// must be an object key (not * nor an array index): the index is put
	// beside it in the same object.
	Field string
	// Normalize is applied to the value before it is hashed.
	Normalize Normalization
	// Name is the sibling member's key; "" means the field's last key
	// followed by IndexSuffix. It may not contain '"', '\' or control
	// characters.
	Name string
	// Bytes is how much of the HMAC is kept, from MinIndexBytes to
	// MaxIndexBytes; zero means DefaultIndexBytes.
	Bytes int
}

// Index is a parsed, validated list of index rules. The zero value indexes
// nothing. An Index is immutable and safe to share between goroutines.
type Index struct {
	rules []indexRule // the rules given, then the spellings of theirs that hold dotted keys
	named int         // how many were given
}

// indexRule is one parsed rule.
type indexRule struct {
	field string    // canonical path name
	key   string    // the path as IndexKeys derives its key from (indexKeyPath)
	segs  []segment // the path
	norm  Normalization
	name  string // sibling key
	loose uint64 // looseSig of name
	sep   uint64 // sepSig of name
	first rune   // firstClass of name
	// nameNFD is name decomposed (NFD), for old siblings in another
	// normalisation (sameNameNFD).
	nameNFD string
	// dotted holds, for each depth d above the indexed key's object, the
	// sibling's path from there as one key with dots ("u.k_bidx" at
	// depth 0 for u.k), and sepSig of each: stores that expand dots put
	// such a key's value at the sibling (findEdits). Only for rules given
	// that name no dotted key and no *.
	dotted    []string
	dottedSep []uint64
	size      int // bytes of HMAC kept
	from      int // the rule given this one comes from (itself, or a spelling of it)
}

// ParseIndex parses the X-Qanapi-Index header: a comma-separated list of
// field paths (the Fields syntax), each optionally followed by ':' and a
// normalisation: "email:lower_trim, phone:digits, user.id". Every rule gets
// the default name and size. The last ':' of an entry starts the
// normalisation, so a key holding ':' is written with one more
// (a:b:exact). An empty string is refused.
func ParseIndex(s string) (Index, error) {
	var rules []IndexRule
	for {
		entry, rest, more := cutUnescaped(s, ',')
		r := IndexRule{Field: entry}
		if i := strings.LastIndexByte(entry, ':'); i >= 0 {
			n, err := ParseNormalization(entry[i+1:])
			if err != nil {
				return Index{}, err
			}
			r.Field, r.Normalize = entry[:i], n
		}
		rules = append(rules, r)
		if !more {
			return IndexFromRules(rules)
		}
		s = rest
	}
}

// IndexFromRules validates rules. A field indexed twice, two rules with
// one sibling name, or a name that is also an indexed key are refused, as
// are fields in other path notations (see Fields).
func IndexFromRules(rules []IndexRule) (Index, error) { return indexFromRules(rules, true) }

// StoredIndex is IndexFromRules for rules stored before other path
// notations were refused (a route's): their fields read as they did then.
func StoredIndex(rules []IndexRule) (Index, error) { return indexFromRules(rules, false) }

func indexFromRules(rules []IndexRule, strict bool) (Index, error) {
	if len(rules) > MaxFields {
		return Index{}, fmt.Errorf("%w: more than %d rules", ErrInvalidIndex, MaxFields)
	}
	x := Index{rules: make([]indexRule, 0, len(rules))}
	for _, r := range rules {
		c, err := compileIndexRule(r, strict)
		if err != nil {
			return Index{}, err
		}
		for _, o := range x.rules {
			switch {
			case o.field == c.field:
				return Index{}, fmt.Errorf("%w: %s is indexed twice", ErrInvalidIndex, c.field)
			case o.name == c.name:
				return Index{}, fmt.Errorf("%w: %s and %s both write %q", ErrInvalidIndex, o.field, c.field, c.name)
			case strict && OldSibling(o.name, c.name):
				// Readers that fold case or convert key styles would
				// take one sibling for the other (stored rules keep
				// loading).
				return Index{}, fmt.Errorf("%w: %s and %s write %q and %q, one name in another letter case or with other separators", ErrInvalidIndex, o.field, c.field, o.name, c.name)
			}
		}
		x.rules = append(x.rules, c)
	}
	for _, r := range x.rules {
		for _, o := range x.rules {
			if k := o.segs[len(o.segs)-1].key; strings.EqualFold(r.name, k) || strict && OldSibling(k, r.name) {
				return Index{}, fmt.Errorf("%w: the index name %q is an indexed key, or one in another letter case or with other separators", ErrInvalidIndex, r.name)
			}
		}
	}
	x.named = len(x.rules)
	for i := range x.rules {
		x.rules[i].from = i
	}
	if err := x.addSpellings(); err != nil {
		return Index{}, err
	}
	for i := range x.rules {
		r := &x.rules[i]
		r.loose, r.sep, r.first, r.nameNFD = looseSig([]byte(r.name)), sepSig([]byte(r.name)), firstClass([]byte(r.name)), norm.NFD.String(r.name)
		if i < x.named && !x.hasSpellings(i) && !slices.ContainsFunc(r.segs, func(s segment) bool { return s.wild }) {
			last := len(r.segs) - 1
			for d := range last {
				var b strings.Builder
				for _, s := range r.segs[d:last] {
					b.WriteString(s.key)
					b.WriteByte('.')
				}
				b.WriteString(r.name)
				r.dotted = append(r.dotted, b.String())
				r.dottedSep = append(r.dottedSep, sepSig([]byte(b.String())))
			}
		}
	}
	return x, nil
}

// addSpellings adds, after the rules given, a rule for each other
// spelling of an indexed path that names keys with dots (Fields.add):
// profile\.email is also sealed where it is nested, {"profile": {"email":
// …}}, and gets its index there too, beside the value, from the same key
// (so a search finds it under either spelling). Its sibling is named as
// the rule's, or, for the default name, after the spelling's last key
// (email_bidx, the nested spelling of profile.email_bidx). A spelling a
// rule given names is left to that rule. Spellings count towards
// MaxFields, as in Fields.
func (x *Index) addSpellings() error {
	if !slices.ContainsFunc(x.rules, func(r indexRule) bool {
		return slices.ContainsFunc(r.segs, func(s segment) bool { return strings.Contains(s.key, ".") })
	}) {
		return nil
	}
	for i := range x.named {
		r := x.rules[i]
		spellings, _ := otherSpellings(r.segs)
	next:
		for _, sp := range spellings {
			field := canonicalName(sp)
			for _, o := range x.rules {
				if o.field == field {
					continue next
				}
			}
			last := sp[len(sp)-1].key
			v := r
			v.field, v.segs = field, sp
			if r.name == r.segs[len(r.segs)-1].key+IndexSuffix {
				v.name = last + IndexSuffix
			}
			if strings.EqualFold(v.name, last) {
				return fmt.Errorf("%w: %s: the index name %q is the key it would sit beside in the spelling %s", ErrInvalidIndex, r.field, v.name, field)
			}
			// Another rule's sibling or indexed key of the same name
			// in an object this spelling's sibling may share.
			for _, o := range x.rules {
				if o.from != i && mayShareObject(o.segs, sp) && (strings.EqualFold(o.name, v.name) || strings.EqualFold(o.name, last) || strings.EqualFold(v.name, o.segs[len(o.segs)-1].key)) {
					return fmt.Errorf("%w: %s and %s: the index of one, or its key, has the name of the other's in the spelling %s", ErrInvalidIndex, x.rules[o.from].field, r.field, field)
				}
			}
			if len(x.rules) == MaxFields {
				return fmt.Errorf("%w: more than %d rules (a path that names keys with dots counts once for each way of spelling it nested)", ErrInvalidIndex, MaxFields)
			}
			x.rules = append(x.rules, v)
		}
	}
	return nil
}

// compileIndexRule validates one rule and fills in its defaults.
func compileIndexRule(r IndexRule, strict bool) (indexRule, error) {
	entry := strings.Trim(r.Field, " \t")
	segs, err := parsePath(entry, strict)
	if err != nil {
		return indexRule{}, fmt.Errorf("%w: %q: %v", ErrInvalidIndex, entry, err)
	}
	c := indexRule{field: canonicalName(segs), key: indexKeyPath(segs), segs: segs, norm: r.Normalize, name: r.Name, size: r.Bytes}
	last := segs[len(segs)-1]
	switch {
	case last.wild || last.index >= 0:
		return indexRule{}, fmt.Errorf("%w: %s: an indexed path must end in an object key, not * or an array index", ErrInvalidIndex, c.field)
	case int(c.norm) >= len(normNames):
		return indexRule{}, fmt.Errorf("%w: %s: unknown normalization", ErrInvalidIndex, c.field)
	case c.size == 0:
		c.size = DefaultIndexBytes
	case c.size < MinIndexBytes || c.size > MaxIndexBytes:
		return indexRule{}, fmt.Errorf("%w: %s: bytes must be from %d to %d", ErrInvalidIndex, c.field, MinIndexBytes, MaxIndexBytes)
	}
	if c.name == "" {
		c.name = last.key + IndexSuffix
	}
	if err := validIndexName(c.name); err != nil {
		return indexRule{}, fmt.Errorf("%w: %s: %v", ErrInvalidIndex, c.field, err)
	}
	if c.name == last.key {
		return indexRule{}, fmt.Errorf("%w: %s: the index name must differ from the field's key", ErrInvalidIndex, c.field)
	}
	return c, nil
}

// validIndexName checks a sibling name: it is written into JSON as it is.
func validIndexName(name string) error {
	switch {
	case name == "" || len(name) > MaxIndexName:
		return fmt.Errorf("the index name must have 1 to %d bytes", MaxIndexName)
	case !utf8.ValidString(name):
		return fmt.Errorf("the index name must be UTF-8")
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("the index name may not hold quotes, backslashes or control characters")
		}
	}
	return nil
}

// mayShareObject reports whether the objects that hold the last keys of
// paths a and b may be one: their parent paths have one length and each
// pair of segments may match one key or index.
func mayShareObject(a, b []segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) - 1 {
		if !a[i].wild && !b[i].wild && a[i].key != b[i].key {
			return false
		}
	}
	return true
}

// Len returns the number of rules given.
func (x Index) Len() int { return x.named }

// Rules returns the rules with their defaults filled in and their fields in
// canonical spelling. The slice is the caller's.
func (x Index) Rules() []IndexRule {
	out := make([]IndexRule, x.named)
	for i, r := range x.rules[:x.named] {
		out[i] = IndexRule{Field: r.field, Normalize: r.norm, Name: r.name, Bytes: r.size}
	}
	return out
}

// hasSpellings reports whether rule i (given) has other spellings.
func (x Index) hasSpellings(i int) bool {
	for _, r := range x.rules[x.named:] {
		if r.from == i {
			return true
		}
	}
	return false
}

// Spellings returns, for rule i, a rule for each other spelling of its
// path that the index writes beside too (a path that names keys with
// dots; see IndexFromRules): Field is the spelling's canonical name, Name
// the sibling written there. For callers that show what x writes.
func (x Index) Spellings(i int) []IndexRule {
	var out []IndexRule
	for _, r := range x.rules[x.named:] {
		if r.from == i {
			out = append(out, IndexRule{Field: r.field, Normalize: r.norm, Name: r.name, Bytes: r.size})
		}
	}
	return out
}

// KeyPath is the spelling of rule i's path that its blind-index key is
// derived from (the IndexKeys argument): the canonical one, but for keys
// with characters escaped only since other path notations were refused
// (brackets, a * inside a key, a lone $ or #, a leading /), as it was
// spelt before, so that the indexes already stored keep matching.
func (x Index) KeyPath(i int) string { return x.rules[i].key }

// CoveredBy returns "" when every indexed field is also a path of f (by
// its canonical spelling), else the first that is not. An index is only
// written beside a value that is encrypted.
func (x Index) CoveredBy(f Fields) string {
	for _, r := range x.rules[:x.named] {
		found := false
		for _, p := range f.paths {
			if p.name == r.field {
				found = true
				break
			}
		}
		if !found {
			return r.field
		}
	}
	return ""
}

// Overwrites returns, as an *OverwriteError, a path of f that an index
// of x would write its sibling over, or nil: a path whose last key is
// the sibling's name, or one an index replaces as an old sibling
// (OldSibling), under the same parents (a * on either side matches any);
// or a key with dots that spells the sibling's path from an object
// above, which an index removes (indexRule.dotted). EncryptIndexed would
// replace the value named for encryption, so the two are refused
// together. A path ending in a * is not one: it names what an object
// holds, siblings included, and those are replaced (blind-index.md).
func (x Index) Overwrites(f Fields) *OverwriteError {
	var b *bidxScratch // for the keys that pass the gates, as the walk has them
	defer func() {
		if b != nil {
			putBidxScratch(b)
		}
	}()
	keyOf := func(s string) []byte {
		if b == nil {
			b = getBidxScratch()
		}
		b.key = append(b.key[:0], s...)
		return b.key
	}
	for i := range x.rules {
		r := &x.rules[i]
		last := len(r.segs) - 1
		for _, p := range f.paths {
			n := len(p.segs) - 1
			k := &p.segs[n]
			if k.wild || n > last || !sameParents(p.segs[:n], r.segs) {
				continue
			}
			// The walk's tests (bidxWalk.object), with the path's key
			// in the place of a member's.
			var hit bool
			switch {
			case n == last:
				hit = k.key == r.name || k.first == r.first && k.sep == r.sep && sepVariant(keyOf(k.key), r.name)
				if !hit && !k.ascii && k.loose == r.loose {
					var forms siblingForms
					key := keyOf(k.key) // b is set
					hit = b.sameNameNFD(key, r, &forms)
				}
			case r.dotted != nil:
				hit = k.sep == r.dottedSep[n] && sepVariant(keyOf(k.key), r.dotted[n])
			}
			if hit {
				o := &x.rules[r.from]
				sib := append(slices.Clone(o.segs[:len(o.segs)-1]), segment{key: o.name, index: -1})
				return &OverwriteError{Field: p.name, Indexed: o.field, Sibling: canonicalName(sib)}
			}
		}
	}
	return nil
}

// sameParents reports whether path segments a may be the first len(a)
// of b: each the same key, or a * on either side.
func sameParents(a, b []segment) bool {
	for d, s := range a {
		if !s.wild && !b[d].wild && s.key != b[d].key {
			return false
		}
	}
	return true
}

// IndexKeys gives the blind-index key of a field path (canonical
// spelling) of one project. Implementations must be safe for concurrent
// use and should cache: it is called once per rule per call.
type IndexKeys interface {
	IndexKey(field string) (*IndexKey, error)
}

// IndexKey is the HMAC-SHA-256 key of one project's field. It keeps a pool
// of HMAC states, so computing an index allocates nothing. Safe for
// concurrent use.
type IndexKey struct {
	hashes sync.Pool
}

// NewIndexKey returns the index key for the secret key (32 bytes of
// key material), which it copies.
func NewIndexKey(key []byte) *IndexKey {
	k := append([]byte(nil), key...)
	x := &IndexKey{}
	x.hashes.New = func() any { return hmac.New(sha256.New, k) }
	return x
}

// String hides the key.
func (k *IndexKey) String() string { return "fieldcrypt.IndexKey{…}" }

// sum appends HMAC(key, msg) to dst.
func (k *IndexKey) sum(dst, msg []byte) []byte {
	h := k.hashes.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	dst = h.Sum(dst)
	k.hashes.Put(h)
	return dst
}

// AppendIndex appends to dst the blind index (base64url, no padding) of
// one JSON scalar, as the direct API answers it, or reports null: rawJSON
// is valid JSON (see Validate); a JSON null has no index (null true, dst
// unchanged); an object or array is ErrIndexNotScalar. The index is the
// one Encrypt would write beside the same value of the same field.
func AppendIndex(dst []byte, key *IndexKey, r IndexRule, rawJSON []byte) (out []byte, null bool, err error) {
	c, err := compileIndexRule(r, false) // the caller validated r
	if err != nil {
		return dst, false, err
	}
	x := getBidxScratch()
	defer putBidxScratch(x)
	v := trimSpace(rawJSON)
	if len(v) == 0 {
		return dst, false, ErrInvalidJSON
	}
	switch v[0] {
	case '{', '[':
		return dst, false, &IndexError{Field: c.field, Err: ErrIndexNotScalar}
	case 'n':
		return dst, true, nil
	}
	return x.appendIndex(dst, key, &c, v), false, nil
}

// appendIndex appends the index of the scalar JSON value v under rule r.
func (x *bidxScratch) appendIndex(dst []byte, key *IndexKey, r *indexRule, v []byte) []byte {
	if v[0] == '"' {
		v = v[1 : len(v)-1]
		if hasBackslash(v) {
			x.text = appendUnescaped(x.text[:0], v)
			v = x.text
		}
	}
	x.norm = appendNormalized(x.norm[:0], v, r.norm)
	x.sum = key.sum(x.sum[:0], x.norm)
	return b64.AppendEncode(dst, x.sum[:r.size])
}

// indexLen is the length of the base64url text of an n-byte index.
func indexLen(n int) int { return b64.EncodedLen(n) }

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// appendNormalized appends v normalised per n.
func appendNormalized(dst, v []byte, n Normalization) []byte {
	switch n {
	case NormDigits:
		for _, c := range v {
			if '0' <= c && c <= '9' {
				dst = append(dst, c)
			}
		}
		return dst
	case NormLowerTrim:
		v = trimUnicodeSpace(v)
		fallthrough
	case NormLower:
		return appendLower(dst, v)
	}
	return append(dst, v...)
}

// appendLower appends v lower-cased as strings.ToLower would, with an
// ASCII fast path.
func appendLower(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst
}

// trimUnicodeSpace trims Unicode white space (unicode.IsSpace) at both ends.
func trimUnicodeSpace(v []byte) []byte {
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		if !unicode.IsSpace(r) {
			break
		}
		v = v[size:]
	}
	for len(v) > 0 {
		r, size := utf8.DecodeLastRune(v)
		if !unicode.IsSpace(r) {
			break
		}
		v = v[:len(v)-size]
	}
	return v
}

// IndexError is an error about one indexed field's value; it names the
// field, never the value.
type IndexError struct {
	Field string // canonical path
	Err   error  // ErrIndexNotScalar or ErrIndexNotEncrypted
}

func (e *IndexError) Error() string { return e.Err.Error() + ": " + e.Field }

// Unwrap returns Err.
func (e *IndexError) Unwrap() error { return e.Err }

// bidxScratch holds the buffers of one indexed call, pooled.
type bidxScratch struct {
	text, norm, sum, key []byte
	vals                 []byte     // the index values of this call, back to back
	edits                []bidxEdit // sorted before use
	keep                 []int32    // the scanner spans that are sealed
	// The walk's stacks (bidxWalk): the rules followed into each value
	// being walked, the rules whose key each object may hold, and the old
	// siblings found in those objects; and the orphans' old siblings.
	act  []bidxAt
	par  []bidxParent
	cand []bidxCand
	orph []bidxEdit
	// A member's normal forms (siblingForms), and the normaliser.
	nfdKey, nfcKey []byte
	iter           norm.Iter
}

var bidxPool = sync.Pool{New: func() any { return new(bidxScratch) }}

func getBidxScratch() *bidxScratch { return bidxPool.Get().(*bidxScratch) }

func putBidxScratch(x *bidxScratch) {
	if cap(x.vals) > maxPooled || cap(x.edits) > maxPooled/32 || cap(x.text) > maxPooled || cap(x.norm) > maxPooled || cap(x.keep) > maxPooled/4 || cap(x.nfdKey) > maxPooled || cap(x.nfcKey) > maxPooled {
		return
	}
	x.edits, x.keep, x.act, x.par, x.cand, x.orph = x.edits[:0], x.keep[:0], x.act[:0], x.par[:0], x.cand[:0], x.orph[:0]
	bidxPool.Put(x)
}
