package admin

import (
	"errors"
	"slices"
	"strings"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
	"github.com/sdproxy/sdproxy/pii"
)

// The preview of blind indexes: the route's request.index plus the
// input's index (X-Qanapi-Index), checked as the data plane checks them,
// and the sibling paths each would write or replace in the body.

var (
	errPreviewIndexMode = &httpapi.Error{Status: 400, Code: "invalid_index", Message: "index goes with encrypt mode and with the fields it indexes: an index is written only beside an encrypted value"}
	errPreviewIndexConf = &httpapi.Error{Status: 400, Code: "route_conflict", Message: "index indexes a field that the route already indexes differently; it may add indexes to a route, never change them"}
)

func previewIndexError(err error) error {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, fieldcrypt.ErrInvalidIndex.Error()+": "); ok {
		msg = after
	}
	return &httpapi.Error{Status: 400, Code: "invalid_index", Message: "index: " + msg}
}

// previewIndex returns the request's index rules and what they would do
// to body (nil: no body), or the error the data plane would answer.
func previewIndex(route *keystore.Route, in wire.PreviewInput, plan phasePlan) ([]wire.PreviewIndex, error) {
	out := []wire.PreviewIndex{}
	rules, err := indexPlan(route, in)
	if err != nil || len(rules) == 0 {
		return out, err
	}
	x, err := fieldcrypt.IndexFromRules(rules)
	if err != nil {
		return out, previewIndexError(err)
	}
	fields, err := fieldcrypt.FieldsFromList(plan.named)
	if plan.mode != keystore.ModeEncrypt || err != nil || fields.Len() == 0 {
		return out, errPreviewIndexMode
	}
	if name := x.CoveredBy(fields); name != "" {
		return out, &httpapi.Error{Status: 400, Code: "invalid_index", Message: "index names " + name + ", which is not among the fields to encrypt"}
	}
	if e := x.Overwrites(fields); e != nil {
		return out, previewIndexError(e)
	}
	var root *jsonNode
	if in.Body != nil {
		if root, err = decodeTree(in.Body); err != nil {
			return out, err
		}
		// A value to index inside one sealed whole: the data plane
		// refuses the request.
		var ie *fieldcrypt.IndexError
		if err := fieldcrypt.CheckEncryptIndexed(in.Body, fields, x); errors.As(err, &ie) && errors.Is(err, fieldcrypt.ErrIndexNotEncrypted) {
			return out, &httpapi.Error{Status: 422, Code: "index_not_encrypted", Message: "the indexed field " + ie.Field +
				" is inside a value encrypted whole (an outer path is named too), so no index can be written beside it"}
		}
	}
	for i, r := range x.Rules() {
		v := wire.PreviewIndex{Field: r.Field, Normalize: r.Normalize.String(), Name: r.Name, Bytes: r.Bytes,
			Written: []string{}, Replaced: []string{}, NotScalar: []string{}}
		if root != nil {
			f, _ := fieldcrypt.FieldsFromList([]string{r.Field})
			segs := parseFieldPaths(f)[0].segs
			walkIndex(root, segs, nil, r.Name, &v, false)
			// Where the path's nested spellings are sealed, the index
			// is written beside them too, and once written, planted
			// siblings at every spelling's place go (but under a *).
			spellings := x.Spellings(i)
			for _, sr := range spellings {
				walkIndex(root, parseCanonical(sr.Field), nil, sr.Name, &v, false)
			}
			if v.Values > 0 && len(spellings) > 0 && !slices.ContainsFunc(segs, func(s fieldSeg) bool { return s.wild }) {
				walkIndex(root, segs, nil, r.Name, &v, true)
				for _, sr := range spellings {
					walkIndex(root, parseCanonical(sr.Field), nil, sr.Name, &v, true)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// indexPlan merges the route's index rules with the input's, as the data
// plane merges X-Qanapi-Index into a route's.
func indexPlan(route *keystore.Route, in wire.PreviewInput) ([]fieldcrypt.IndexRule, error) {
	var rules []fieldcrypt.IndexRule
	if route != nil && route.Request != nil {
		var err error
		if rules, err = keystore.StoredIndexRules("request", route.Request.Index); err != nil {
			return nil, err
		}
		if x, err := fieldcrypt.StoredIndex(rules); err == nil {
			rules = x.Rules() // with their defaults and canonical spellings, to compare
		}
	}
	if len(in.Index) == 0 {
		return rules, nil
	}
	hx, err := fieldcrypt.ParseIndex(strings.Join(in.Index, ","))
	if err != nil {
		return nil, previewIndexError(err)
	}
	for _, r := range hx.Rules() {
		i := slices.IndexFunc(rules, func(o fieldcrypt.IndexRule) bool { return o.Field == r.Field })
		switch {
		case i < 0:
			rules = append(rules, r)
		case rules[i] != r:
			return nil, errPreviewIndexConf
		}
	}
	return rules, nil
}

// walkIndex finds, under n, the objects holding the indexed key segs
// names (its last segment) and notes the sibling name's paths.
// With orphans it notes instead, in the objects that do not hold the key,
// the siblings the proxy would drop there (an index written under another
// spelling of a dotted key's path: fieldcrypt's findEdits).
func walkIndex(n *jsonNode, segs []fieldSeg, at []step, name string, v *wire.PreviewIndex, orphans bool) {
	if len(segs) > 1 {
		for i := range n.kids {
			if segMatches(segs[0], n, i) && n.kind != '"' && n.kind != 0 {
				s := step{index: i}
				if n.kind == '{' {
					s = step{key: pii.EscapeKey(n.keys[i]), index: -1}
				}
				walkIndex(n.kids[i], segs[1:], append(at, s), name, v, orphans)
			}
		}
		return
	}
	if n.kind != '{' {
		return
	}
	i := slices.Index(n.keys, segs[0].key)
	if orphans {
		if i < 0 {
			noteReplaced(n, at, name, v)
		}
		return
	}
	if i < 0 {
		return
	}
	kid := n.kids[i]
	field := joinSteps(append(at, step{key: pii.EscapeKey(segs[0].key), index: -1}), true)
	if kid.kind == '{' || kid.kind == '[' {
		if !slices.Contains(v.NotScalar, field) {
			v.NotScalar = append(v.NotScalar, field)
		}
		return
	}
	sibling := joinSteps(append(at, step{key: pii.EscapeKey(name), index: -1}), true)
	v.Values++
	if !slices.Contains(v.Written, sibling) {
		v.Written = append(v.Written, sibling)
	}
	noteReplaced(n, at, name, v)
}

// noteReplaced notes the members of object n (at at) that an index named
// name replaces (fieldcrypt.OldSibling).
func noteReplaced(n *jsonNode, at []step, name string, v *wire.PreviewIndex) {
	for _, k := range n.keys {
		if fieldcrypt.OldSibling(k, name) {
			if p := joinSteps(append(at, step{key: pii.EscapeKey(k), index: -1}), true); !slices.Contains(v.Replaced, p) {
				v.Replaced = append(v.Replaced, p)
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
