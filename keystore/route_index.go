package keystore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// RouteIndex asks an encrypting request rule for a blind index of one of
// its fields: a sibling member holding a keyed hash of the normalised
// value (see fieldcrypt.IndexRule and docs/blind-index.md).
type RouteIndex struct {
	// Field is one of the rule's Fields (canonical spelling once stored);
	// its last segment is an object key.
	Field string
	// Normalize is exact, lower, lower_trim or digits; stored lower-case,
	// "exact" when given empty.
	Normalize string
	// Name is the sibling's key; stored with its default,
	// "<last key>_bidx", when given empty.
	Name string
	// Bytes is the HMAC bytes kept, 4 to 32; stored as 16 when given 0.
	Bytes int
}

// routeIndexJSON is a RouteIndex as stored.
type routeIndexJSON struct {
	Field     string `json:"field"`
	Normalize string `json:"normalize"`
	Name      string `json:"name"`
	Bytes     int    `json:"bytes"`
}

func encodeIndex(in []RouteIndex) []routeIndexJSON {
	if len(in) == 0 {
		return nil
	}
	out := make([]routeIndexJSON, len(in))
	for i, r := range in {
		out[i] = routeIndexJSON(r)
	}
	return out
}

func decodeIndex(in []routeIndexJSON) []RouteIndex {
	out := make([]RouteIndex, len(in))
	for i, r := range in {
		out[i] = RouteIndex(r)
	}
	return out
}

// IndexRules returns in as fieldcrypt rules, checked one by one; errors
// name the entry as the admin API's JSON does ("request.index[1]").
func IndexRules(phase string, in []RouteIndex) ([]fieldcrypt.IndexRule, error) {
	return indexRules(phase, in, fieldcrypt.IndexFromRules)
}

// StoredIndexRules is IndexRules for a route's stored rules: their fields
// read as when the route was saved (fieldcrypt.StoredIndex), so that a
// rule saved before other path notations were refused still compiles.
func StoredIndexRules(phase string, in []RouteIndex) ([]fieldcrypt.IndexRule, error) {
	return indexRules(phase, in, fieldcrypt.StoredIndex)
}

func indexRules(phase string, in []RouteIndex, check func([]fieldcrypt.IndexRule) (fieldcrypt.Index, error)) ([]fieldcrypt.IndexRule, error) {
	rules := make([]fieldcrypt.IndexRule, len(in))
	for i, r := range in {
		field := fmt.Sprintf("%s.index[%d]", phase, i)
		n, err := fieldcrypt.ParseNormalization(r.Normalize)
		if err != nil {
			return nil, invalid(field+".normalize", "must be exact, lower, lower_trim or digits, not %q", r.Normalize)
		}
		rules[i] = fieldcrypt.IndexRule{Field: r.Field, Normalize: n, Name: r.Name, Bytes: r.Bytes}
		if _, err := check(rules[i : i+1]); err != nil {
			return nil, invalid(field, "%s", indexMessage(err))
		}
	}
	return rules, nil
}

// normalizeRouteIndex validates the index list of phase out (its fields
// already normalised) and returns it with its defaults filled in.
func normalizeRouteIndex(phase string, out *RoutePhase, in []RouteIndex) ([]RouteIndex, error) {
	if len(in) == 0 {
		return []RouteIndex{}, nil
	}
	if phase != "request" || out.Mode != ModeEncrypt {
		return nil, invalid(phase+".index", "only an encrypting request rule takes index")
	}
	rules, err := IndexRules(phase, in)
	if err != nil {
		return nil, err
	}
	x, err := fieldcrypt.IndexFromRules(rules)
	if err != nil {
		return nil, invalid(phase+".index", "%s", indexMessage(err))
	}
	norm := x.Rules()
	list := make([]RouteIndex, len(norm))
	for i, r := range norm {
		if !slices.Contains(out.Fields, r.Field) {
			return nil, invalid(fmt.Sprintf("%s.index[%d].field", phase, i), "%q must also be one of %s.fields: an index is written only beside an encrypted value", r.Field, phase)
		}
		list[i] = RouteIndex{Field: r.Field, Normalize: r.Normalize.String(), Name: r.Name, Bytes: r.Bytes}
	}
	if f, err := fieldcrypt.FieldsFromList(out.Fields); err == nil {
		if e := x.Overwrites(f); e != nil {
			return nil, invalid(phase+".fields", "%s", e.Message())
		}
	}
	return list, nil
}

// indexMessage is fieldcrypt's message without its sentinel's prefix.
func indexMessage(err error) string {
	msg, prefix := err.Error(), fieldcrypt.ErrInvalidIndex.Error()+": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// NormalizeIndex validates the index rules of a request rule of mode with
// (canonical) fields, as a route's are when stored, and returns them with
// their defaults filled in. The CLI's policy files validate with it, so
// that a file compares equal with what the server stores.
func NormalizeIndex(mode string, fields []string, in []RouteIndex) ([]RouteIndex, error) {
	return normalizeRouteIndex("request", &RoutePhase{Mode: strings.ToLower(strings.TrimSpace(mode)), Fields: fields}, in)
}

// CompiledPhase is a stored rule's paths as the data plane applies them.
type CompiledPhase struct {
	// Fields are the rule's paths; ListFields the same for a body whose
	// top level is an array (fieldcrypt.Fields.ForList).
	Fields, ListFields fieldcrypt.Fields
	Index              fieldcrypt.Index // the blind-index rules, if any
}

// CompileStoredPhase compiles a stored rule (not nil) as it was saved:
// paths in notations refused since read as keys (fieldcrypt.StoredFields,
// StoredIndex). The proxy applies what it returns, and the admin preview
// calls a rule it refuses one that does not compile: one definition.
func CompileStoredPhase(p *RoutePhase) (CompiledPhase, error) {
	var c CompiledPhase
	var err error
	if c.Fields, err = fieldcrypt.StoredFields(p.Fields); err != nil {
		return c, err
	}
	if c.ListFields, err = c.Fields.ForList(); err != nil {
		return c, err
	}
	if len(p.Index) > 0 {
		rules, err := StoredIndexRules("request", p.Index)
		if err != nil {
			return c, err
		}
		if c.Index, err = fieldcrypt.StoredIndex(rules); err != nil {
			return c, err
		}
	}
	return c, nil
}
