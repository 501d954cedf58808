package proxy

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// Blind indexes in the request phase: X-Qanapi-Index and a route's
// request.index name encrypted fields whose normalised plaintext gets a
// keyed hash in a sibling member (fieldcrypt.EncryptIndexed). The header
// may add indexes to a route's, never change one (route_conflict).

// Errors of blind indexes.
var (
	errIndexMode = &apiError{Status: 400, Code: "invalid_index", Message: "X-Qanapi-Index goes with encrypt mode and with the fields it indexes (X-Qanapi-Fields or the route's): an index is written only beside an encrypted value"}
	errIndexConf = &apiError{Status: 400, Code: "route_conflict", Message: "X-Qanapi-Index indexes a field that the project's route already indexes differently; headers may add indexes to a route, never change them"}
)

// invalidIndex is the 400 of an index list that does not parse.
func invalidIndex(err error) error {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, fieldcrypt.ErrInvalidIndex.Error()+": "); ok {
		msg = after
	}
	return &apiError{Status: 400, Code: "invalid_index", Message: "X-Qanapi-Index: " + msg}
}

// indexNotEncrypted is the 400 of an indexed field that is not encrypted.
func indexNotEncrypted(field string) error {
	return &apiError{Status: 400, Code: "invalid_index", Message: "X-Qanapi-Index names " + field + ", which is not among the fields to encrypt (X-Qanapi-Fields or the route's); an index is written only beside an encrypted value"}
}

// indexAPIError maps an error of fieldcrypt's indexing to its answer, or
// returns err as it is. Messages name the field, never its value.
func indexAPIError(err error) error {
	if err == nil {
		return nil
	}
	var ie *fieldcrypt.IndexError
	switch {
	case errors.As(err, &ie) && errors.Is(err, fieldcrypt.ErrIndexNotScalar):
		return &apiError{Status: 422, Code: "index_not_scalar", Message: "the indexed field " + ie.Field + " holds an object or array; only strings, numbers, booleans and null can be indexed"}
	case errors.As(err, &ie):
		return &apiError{Status: 422, Code: "index_not_encrypted", Message: "the indexed field " + ie.Field + " is inside a value encrypted whole (an outer path is named too), so no index can be written beside it"}
	case errors.Is(err, fieldcrypt.ErrInvalidIndex):
		return invalidIndex(err)
	}
	return err
}

// indexSpec spells a route's compiled index rules as one string that
// identifies them (a key of indexCache); "" for none.
func indexSpec(x fieldcrypt.Index) string {
	var b strings.Builder
	for _, r := range x.Rules() {
		b.WriteString(strconv.Quote(r.Field) + ":" + r.Normalize.String() + "=" + strconv.Quote(r.Name) + "/" + strconv.Itoa(r.Bytes) + ";")
	}
	return b.String()
}

// requestIndex returns the request phase's blind indexes: the route's,
// plus any X-Qanapi-Index adds. They need encrypt mode and fields (ok),
// and each indexed field must be one of fields.
func (d *Data) requestIndex(st *reqState, fields fieldcrypt.Fields, ok bool) (fieldcrypt.Index, error) {
	hdr := bytes.TrimSpace(st.h.index)
	var rule *phase
	if st.route != nil {
		rule = st.route.request
	}
	var x fieldcrypt.Index
	switch {
	case len(hdr) == 0 && (rule == nil || rule.index.Len() == 0):
		return x, nil
	case len(hdr) == 0:
		x = rule.index
	default:
		var err error
		if x, err = d.indexes.parse(st, rule, hdr); err != nil {
			return x, err
		}
	}
	if !ok || st.mode != modeEncrypt {
		return x, errIndexMode
	}
	if name := x.CoveredBy(fields); name != "" {
		return x, indexNotEncrypted(name)
	}
	return x, indexOverwrites(x, fields)
}

// indexOverwrites is the 400 of fields to encrypt that name a member an
// index is written to (fieldcrypt.Index.Overwrites), or nil.
func indexOverwrites(x fieldcrypt.Index, fields fieldcrypt.Fields) error {
	e := x.Overwrites(fields)
	if e == nil {
		return nil
	}
	return &apiError{Status: 400, Code: "invalid_index", Message: "X-Qanapi-Index with the fields to encrypt (X-Qanapi-Fields or the route's): " + e.Message()}
}

// encrypt is the request phase's encryption, with its blind indexes.
func (d *Data) encrypt(st *reqState, body []byte, fields fieldcrypt.Fields, x fieldcrypt.Index) ([]byte, error) {
	if x.Len() == 0 {
		return fieldcrypt.Encrypt(st.buf[:0], body, fields, &st.params)
	}
	st.data = d
	out, err := fieldcrypt.EncryptIndexed(st.buf[:0], body, fields, x, st, &st.params)
	return out, indexAPIError(err)
}

// IndexKey is fieldcrypt.IndexKeys for the request's project: keys are
// derived by the store once per project and field, then cached.
func (st *reqState) IndexKey(field string) (*fieldcrypt.IndexKey, error) {
	d := st.data
	st.scratch = append(append(append(st.scratch[:0], st.project.ID...), 0), field...)
	if k := d.indexKeys.get(st.scratch); k != nil {
		return k, nil
	}
	kr, err := d.store.Keyring(st.project.ID)
	if err != nil {
		return nil, err
	}
	raw, err := kr.IndexKey(field)
	if err != nil {
		return nil, err
	}
	k := fieldcrypt.NewIndexKey(raw)
	clear(raw)
	d.indexKeys.put(string(st.scratch), k)
	return k, nil
}

// indexKeyCache keeps the index keys of project and field ("<project id>
// 0x00 <field>"). It holds at most maxCachedIndexKeys and starts afresh
// when full; project ids are never reused, so an entry never goes stale.
type indexKeyCache struct {
	mu sync.RWMutex
	m  map[string]*fieldcrypt.IndexKey
}

const maxCachedIndexKeys = 4096

func (c *indexKeyCache) get(k []byte) *fieldcrypt.IndexKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[string(k)]
}

func (c *indexKeyCache) put(k string, v *fieldcrypt.IndexKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedIndexKeys {
		c.m = make(map[string]*fieldcrypt.IndexKey)
	}
	c.m[k] = v
}

// indexCache keeps parsed X-Qanapi-Index values, merged with the route's
// rules (by their spec): parsing allocates, apps send the same few.
type indexCache struct {
	mu sync.RWMutex
	m  map[string]fieldcrypt.Index
}

const maxCachedIndexes = 1024

// parse returns the index of header h added to the rules of route phase
// rule (nil for none).
func (c *indexCache) parse(st *reqState, rule *phase, h []byte) (fieldcrypt.Index, error) {
	// st.scratch, not st.names: that holds the merged fields for the event.
	st.scratch = append(st.scratch[:0], h...)
	if rule != nil {
		st.scratch = append(append(st.scratch, 0), rule.indexSpec...)
	}
	c.mu.RLock()
	x, ok := c.m[string(st.scratch)]
	c.mu.RUnlock()
	if ok {
		return x, nil
	}
	x, err := mergeIndex(rule, string(h))
	if err != nil || len(st.scratch) > 2048 {
		return x, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedIndexes {
		c.m = make(map[string]fieldcrypt.Index)
	}
	c.m[string(st.scratch)] = x
	c.mu.Unlock()
	return x, nil
}

// mergeIndex parses header h and adds its rules to the route's; a header
// rule the route has already, the same, counts once.
func mergeIndex(rule *phase, h string) (fieldcrypt.Index, error) {
	hx, err := fieldcrypt.ParseIndex(h)
	if err != nil {
		return hx, invalidIndex(err)
	}
	if rule == nil || rule.index.Len() == 0 {
		return hx, nil
	}
	rules := rule.index.Rules()
	for _, r := range hx.Rules() {
		i := 0
		for i < len(rules) && rules[i].Field != r.Field {
			i++
		}
		switch {
		case i == len(rules):
			rules = append(rules, r)
		case rules[i] != r:
			return fieldcrypt.Index{}, errIndexConf
		}
	}
	x, err := fieldcrypt.IndexFromRules(rules)
	if err != nil {
		return x, invalidIndex(err)
	}
	return x, nil
}
