package keystore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// Limits of routes.
const (
	// MaxRoutes is how many routes one project holds at most.
	MaxRoutes = 1000
	// MaxRoutePathLen is the longest route path, in bytes.
	MaxRoutePathLen = 1024
	// MaxRouteFields is how many paths a phase's fields (or require) list
	// at most: what one fieldcrypt.Fields holds.
	MaxRouteFields = fieldcrypt.MaxFields
	// MaxRouteOrder bounds Order both ways.
	MaxRouteOrder = 1_000_000_000
	maxMethods    = 32
	maxMethodLen  = 32
)

// normalizeRoute validates in and returns the route it describes, with
// methods upper-cased and paths in canonical spelling. Errors are
// *FieldError naming the field as the admin API's JSON does
// ("request.fields[1]").
func normalizeRoute(in RouteInput) (Route, error) {
	methods, err := normalizeMethods(in.Methods)
	if err != nil {
		return Route{}, err
	}
	if err := validRoutePath(in.Path); err != nil {
		return Route{}, err
	}
	if in.Order < -MaxRouteOrder || in.Order > MaxRouteOrder {
		return Route{}, invalid("order", "must be from %d to %d", -MaxRouteOrder, MaxRouteOrder)
	}
	r := Route{Methods: methods, Path: in.Path, Order: in.Order}
	if r.Request, err = normalizePhase("request", in.Request); err != nil {
		return Route{}, err
	}
	if r.Response, err = normalizePhase("response", in.Response); err != nil {
		return Route{}, err
	}
	return r, nil
}

// normalizeMethods upper-cases methods (HTTP tokens) and drops repeats.
func normalizeMethods(in []string) ([]string, error) {
	if len(in) > maxMethods {
		return nil, invalid("methods", "at most %d methods", maxMethods)
	}
	out := []string{}
	for i, m := range in {
		if m == "" || len(m) > maxMethodLen || strings.IndexFunc(m, notTokenChar) >= 0 {
			return nil, invalid(fmt.Sprintf("methods[%d]", i), "%q is not an HTTP method (a token of at most %d characters, such as GET)", m, maxMethodLen)
		}
		if m = strings.ToUpper(m); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// notTokenChar reports whether r may not appear in an HTTP token (RFC 9110).
func notTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// validRoutePath checks a route's path pattern.
func validRoutePath(p string) error {
	switch {
	case p == "":
		return invalid("path", `is required: "/" followed by segments, such as /posts/**`)
	case len(p) > MaxRoutePathLen:
		return invalid("path", "must be at most %d bytes", MaxRoutePathLen)
	case p[0] != '/':
		return invalid("path", `must start with "/" (it matches what follows /proxy/{project-id})`)
	case strings.ContainsAny(p, "?#"):
		return invalid("path", "must not contain ? or #: a route matches the path alone")
	case !utf8.ValidString(p) || strings.IndexFunc(p, isControl) >= 0:
		return invalid("path", "must be valid UTF-8 without control characters")
	case p == "/":
		return nil
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return invalid("path", "has an empty segment (a doubled or trailing /)")
		case seg == "." || seg == "..":
			return invalid("path", "segment %q never matches: request paths are normalised", seg)
		case seg != "*" && seg != "**" && strings.Contains(seg, "*"):
			return invalid("path", "segment %q: * stands only as a whole segment, * (one segment) or ** (any number)", seg)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// normalizePhase validates the rule of one direction ("request" or
// "response"); nil stays nil.
func normalizePhase(name string, in *RoutePhase) (*RoutePhase, error) {
	if in == nil {
		return nil, nil
	}
	request := name == "request"
	out := &RoutePhase{Mode: strings.ToLower(strings.TrimSpace(in.Mode)), Require: []string{}}
	switch {
	case out.Mode == "" && request:
		return nil, invalid(name+".mode", "is required: encrypt or decrypt")
	case out.Mode == "":
		out.Mode = ModeDecrypt
	case out.Mode != ModeEncrypt && out.Mode != ModeDecrypt:
		return nil, invalid(name+".mode", "must be encrypt or decrypt, not %q", in.Mode)
	}
	if len(in.Fields) == 0 {
		return nil, invalid(name+".fields", "must name at least one field path")
	}
	var err error
	if out.Fields, err = normalizeFieldPaths(name+".fields", in.Fields, true); err != nil {
		return nil, err
	}
	if in.Classification != "" {
		if !request {
			return nil, invalid(name+".classification", "only a request rule takes a classification")
		}
		if !ValidSlug(in.Classification) {
			return nil, invalid(name+".classification", "%q is not a slug (a-z, 0-9, - and _, at most %d)", in.Classification, MaxSlugLen)
		}
		out.Classification = in.Classification
	}
	if len(in.Require) > 0 {
		if !request {
			return nil, invalid(name+".require", "only a request rule takes require")
		}
		if out.Require, err = normalizeFieldPaths(name+".require", in.Require, false); err != nil {
			return nil, err
		}
	}
	if out.Index, err = normalizeRouteIndex(name, out, in.Index); err != nil {
		return nil, err
	}
	if out.SubjectField, err = normalizeSubjectField(name, out.Mode, in.SubjectField); err != nil {
		return nil, err
	}
	return out, nil
}

// normalizeFieldPaths checks each path of list with fieldcrypt's parser
// and returns their canonical spellings without repeats. Every path must
// also parse below a '*' (so a rule applies to each element of a list
// answer); wildcards says whether '*' segments are allowed.
func normalizeFieldPaths(field string, list []string, wildcards bool) ([]string, error) {
	if len(list) > MaxRouteFields {
		return nil, invalid(field, "at most %d paths", MaxRouteFields)
	}
	out := make([]string, 0, len(list))
	for i, entry := range list {
		name, err := CanonicalFieldPath(entry, wildcards)
		if err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%s", err)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	// Together, as the proxy compiles them (also for list bodies): a path
	// that names keys with dots counts once for each of its spellings.
	f, err := fieldcrypt.FieldsFromList(out)
	if err == nil {
		_, err = f.ForList()
	}
	if err != nil {
		return nil, invalid(field, "%s", strings.TrimPrefix(err.Error(), fieldcrypt.ErrInvalidFields.Error()+": "))
	}
	return out, nil
}

// CanonicalFieldPath parses one field path as routes take it and returns
// its canonical spelling; wildcards false refuses a * segment (required
// paths name one place). The CLI's policy files validate with it too.
func CanonicalFieldPath(entry string, wildcards bool) (string, error) {
	f, err := fieldcrypt.FieldsFromList([]string{entry})
	if err != nil {
		prefix := fieldcrypt.ErrInvalidFields.Error() + ": " + strconv.Quote(strings.Trim(entry, " \t")) + ": "
		return "", fmt.Errorf("%q is not a field path: %s", entry, strings.TrimPrefix(err.Error(), prefix))
	}
	name := f.Names()[0]
	if _, err := fieldcrypt.FieldsFromList([]string{"*." + name}); err != nil {
		return "", fmt.Errorf("%q nests deeper than %d levels", entry, fieldcrypt.MaxDepth-1)
	}
	if !wildcards && hasWildcard(name) {
		return "", fmt.Errorf("%q has a * segment: a required path names one place (write \\* for a key named *)", entry)
	}
	return name, nil
}

// hasWildcard reports whether a canonical path has an unescaped * segment.
func hasWildcard(name string) bool {
	start := 0
	for i := 0; i <= len(name); i++ {
		switch {
		case i < len(name) && name[i] == '\\':
			i++
		case i == len(name) || name[i] == '.':
			if name[start:i] == "*" {
				return true
			}
			start = i + 1
		}
	}
	return false
}
