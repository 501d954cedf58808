package main

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// The routes API's rules (keystore/route_validate.go) for the routes of a
// policy file, and the canonical spellings the server stores.

// decodeRoutes decodes a project's routes; two routes with the same path
// and methods are a problem, since apply matches routes by them.
func (d *fileDecoder) decodeRoutes(n *yaml.Node, field string) []*policyRoute {
	elems, ok := d.list(n, field)
	if ok && len(elems) > keystore.MaxRoutes {
		d.fail(n, field, "at most %d routes per project", keystore.MaxRoutes)
	}
	var out []*policyRoute
	first := map[string]int{}
	for i, e := range elems {
		r := d.decodeRoute(e, elemPath(field, i))
		if r == nil {
			continue
		}
		if l, dup := first[r.Spec.key()]; dup {
			d.fail(e, r.Field, "route %s is declared twice (first on line %d): routes are matched by path and methods", r.Spec.label(), l)
			continue
		}
		first[r.Spec.key()] = e.Line
		out = append(out, r)
	}
	return out
}

// decodeRoute decodes one route; nil when it is not valid.
func (d *fileDecoder) decodeRoute(n *yaml.Node, field string) *policyRoute {
	m := d.mapping(n, field, policyRouteKeys)
	if m == nil {
		return nil
	}
	before := len(d.problems)
	r := &policyRoute{Field: field, Line: n.Line, Spec: routeSpec{Methods: []string{}}}
	if v := m["methods"]; v != nil {
		if list, ok := d.strList(v, field+".methods"); ok {
			r.Spec.Methods = d.methods(v, field+".methods", list)
		}
	}
	if v := m["path"]; v == nil {
		d.missing(n, field, "path", `is required: "/" followed by segments, such as /posts/**`)
	} else if s, ok := d.str(v, field+".path"); ok {
		if msg := routePathProblem(s); msg != "" {
			d.fail(v, field+".path", "%s", msg)
		}
		r.Spec.Path = s
	}
	if v := m["order"]; v != nil {
		r.Spec.Order, _ = d.integer(v, field+".order", -keystore.MaxRouteOrder, keystore.MaxRouteOrder)
	}
	if v := m["request"]; v != nil && !isNullNode(v) {
		r.Spec.Request = d.decodeRequest(v, field+".request")
	}
	if v := m["response"]; v != nil && !isNullNode(v) {
		r.Spec.Response = d.decodeResponse(v, field+".response")
	}
	if len(d.problems) > before {
		return nil
	}
	return r
}

// methods upper-cases HTTP methods and drops repeats.
func (d *fileDecoder) methods(n *yaml.Node, field string, in []string) []string {
	if len(in) > maxRouteMethods {
		d.fail(n, field, "at most %d methods", maxRouteMethods)
	}
	out := []string{}
	for i, m := range in {
		if m == "" || len(m) > maxRouteMethodLen || strings.IndexFunc(m, notHTTPTokenChar) >= 0 {
			d.fail(n.Content[i], elemPath(field, i), "%q is not an HTTP method (a token of at most %d characters, such as GET)", m, maxRouteMethodLen)
			continue
		}
		if m = strings.ToUpper(m); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// notHTTPTokenChar reports whether r may not appear in an HTTP token.
func notHTTPTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// routePathProblem says what is wrong with a route's path pattern, or "".
func routePathProblem(p string) string {
	switch {
	case p == "":
		return `is required: "/" followed by segments, such as /posts/**`
	case len(p) > keystore.MaxRoutePathLen:
		return fmt.Sprintf("must be at most %d bytes", keystore.MaxRoutePathLen)
	case p[0] != '/':
		return `must start with "/" (it matches what follows /proxy/{project-id})`
	case strings.ContainsAny(p, "?#"):
		return "must not contain ? or #: a route matches the path alone"
	case !utf8.ValidString(p) || strings.IndexFunc(p, isControlRune) >= 0:
		return "must be valid UTF-8 without control characters"
	case p == "/":
		return ""
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return "has an empty segment (a doubled or trailing /)"
		case seg == "." || seg == "..":
			return fmt.Sprintf("segment %q never matches: request paths are normalised", seg)
		case seg != "*" && seg != "**" && strings.Contains(seg, "*"):
			return fmt.Sprintf("segment %q: * stands only as a whole segment, * (one segment) or ** (any number)", seg)
		}
	}
	return ""
}

// decodeMode decodes a rule's mode, lower-cased; def is the mode when
// none is given ("" makes it required).
func (d *fileDecoder) decodeMode(m map[string]*yaml.Node, n *yaml.Node, field, def string) string {
	v := m["mode"]
	if v == nil {
		if def == "" {
			d.missing(n, field, "mode", "is required: encrypt or decrypt")
		}
		return def
	}
	s, ok := d.str(v, field+".mode")
	if !ok {
		return ""
	}
	mode := strings.ToLower(strings.TrimSpace(s))
	if mode != keystore.ModeEncrypt && mode != keystore.ModeDecrypt {
		d.fail(v, field+".mode", "must be encrypt or decrypt, not %q", s)
	}
	return mode
}

// fieldPaths decodes a list of field paths into their canonical spellings
// without repeats; wildcards says whether * segments are allowed.
func (d *fileDecoder) fieldPaths(n *yaml.Node, field string, wildcards bool) []string {
	list, ok := d.strList(n, field)
	if !ok {
		return nil
	}
	if len(list) > keystore.MaxRouteFields {
		d.fail(n, field, "at most %d paths", keystore.MaxRouteFields)
		return nil
	}
	out := make([]string, 0, len(list))
	for i, entry := range list {
		name, err := keystore.CanonicalFieldPath(entry, wildcards)
		if err != nil {
			d.fail(n.Content[i], elemPath(field, i), "%s", err)
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func (d *fileDecoder) decodeRequest(n *yaml.Node, field string) *wire.RequestRule {
	m := d.mapping(n, field, policyRequestKeys)
	if m == nil {
		return nil
	}
	r := &wire.RequestRule{Mode: d.decodeMode(m, n, field, ""), Require: []string{}}
	r.Fields = d.ruleFields(m, n, field)
	if v := m["classification"]; v != nil {
		if s, ok := d.str(v, field+".classification"); ok {
			if s != "" && !keystore.ValidSlug(s) {
				d.fail(v, field+".classification", "%q is not a slug (a-z, 0-9, - and _, at most %d)", s, keystore.MaxSlugLen)
			}
			r.Classification = s
		}
	}
	if v := m["require"]; v != nil {
		if req := d.fieldPaths(v, field+".require", false); req != nil {
			r.Require = req
		}
	}
	r.Index = []wire.RouteIndex{}
	if v := m["index"]; v != nil {
		r.Index = d.decodeIndex(v, field+".index", r)
	}
	if v := m["subject_field"]; v != nil {
		r.SubjectField = d.subjectField(v, field+".subject_field", r.Mode)
	}
	return r
}

func (d *fileDecoder) decodeResponse(n *yaml.Node, field string) *wire.ResponseRule {
	m := d.mapping(n, field, policyResponseKeys)
	if m == nil {
		return nil
	}
	return &wire.ResponseRule{Mode: d.decodeMode(m, n, field, keystore.ModeDecrypt), Fields: d.ruleFields(m, n, field)}
}

// ruleFields decodes a rule's fields: at least one.
func (d *fileDecoder) ruleFields(m map[string]*yaml.Node, n *yaml.Node, field string) []string {
	v := m["fields"]
	if v == nil {
		d.missing(n, field, "fields", "is required: at least one field path")
		return nil
	}
	if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
		d.fail(v, field+".fields", "must name at least one field path")
		return nil
	}
	return d.fieldPaths(v, field+".fields", true)
}
