package admin

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/internal/routematch"
	"github.com/sdproxy/sdproxy/keystore"
	"github.com/sdproxy/sdproxy/pii"
)

// Errors of the preview, with the codes the data plane would answer for
// the same request.
var (
	errPreviewMode          = &httpapi.Error{Status: 400, Code: "invalid_mode", Message: "mode and response_mode must be encrypt or decrypt; response_mode goes with response_fields or a route's response rule"}
	errPreviewConflict      = &httpapi.Error{Status: 400, Code: "route_conflict", Message: "mode or response_mode contradicts the route for this path; fields may add to a route, never change its mode"}
	errPreviewTooManyValues = &httpapi.Error{Status: 413, Code: "too_many_values", Message: "a body holds more than " + strconv.Itoa(pii.MaxValues) + " values, more than a preview reads"}
)

// preview is POST …/projects/{id}/preview: which route applies to a
// request, which paths of its body and of the upstream's answer would be
// transformed, and hints of personal data no rule covers. It encrypts,
// stores and records nothing, and answers paths, kinds and counts, never
// a value.
func (a *Admin) preview(ctx *fasthttp.RequestCtx, project string) error {
	var in wire.PreviewInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	method, path, err := previewTarget(in)
	if err != nil {
		return err
	}
	readings, err := previewReadings(project, path)
	if err != nil {
		return err
	}
	routes, err := a.store.Routes(project)
	if err != nil {
		return err
	}
	route, ok := routeOf(routes, method, readings)
	if !ok {
		return errPreviewAmbiguousPath
	}
	if route != nil && (!phaseCompiles(route.Request) || !phaseCompiles(route.Response)) {
		return &httpapi.Error{Status: 422, Code: "route_unavailable", Message: "route " + route.ID +
			" does not compile: the proxy refuses the requests it matches (500 route_unavailable); save it again"}
	}
	out := wire.Preview{Hints: []wire.PreviewHint{}}
	if route != nil {
		out.Route = &wire.PreviewRoute{ID: route.ID, Path: route.Path, Order: route.Order, Methods: nonNil(route.Methods)}
	}
	reqPlan, err := requestPlan(route, in)
	if err != nil {
		return err
	}
	respPlan, err := responsePlan(route, in)
	if err != nil {
		return err
	}
	if out.Request, err = previewPhase(reqPlan, in.Body, "request", &out.Hints); err != nil {
		return err
	}
	if out.Request.Index, err = previewIndex(route, in, reqPlan); err != nil {
		return err
	}
	if in.ResponseBody != nil {
		resp, err := previewPhase(respPlan, in.ResponseBody, "response", &out.Hints)
		if err != nil {
			return err
		}
		resp.Index = []wire.PreviewIndex{}
		out.Response = &resp
	} else if _, err := planFields(respPlan, "response"); err != nil {
		return err // the proxy refuses bad response fields before forwarding
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}

// previewTarget checks and normalises the input's method and path: the
// path after /proxy/{id}, its query string dropped.
func previewTarget(in wire.PreviewInput) (method, path string, err error) {
	method = strings.ToUpper(strings.TrimSpace(in.Method))
	if method == "" || strings.IndexFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return "", "", httpapi.BadRequest("method: is required, an HTTP method such as POST")
	}
	path, _, _ = strings.Cut(in.Path, "?")
	if !strings.HasPrefix(path, "/") {
		return "", "", httpapi.BadRequest(`path: is required: the request path after /proxy/{project-id}, starting with "/"`)
	}
	return method, path, nil
}

// previewReadings returns the readings of path (as the input gives it,
// after /proxy/{project-id}) on which the data plane matches routes: the
// path as the data listener reads it, percent-decoded with its empty and
// dot segments resolved ("/admin/../public" is "/public", "/%61dmin/x" is
// "/admin/x"), which is also the path it forwards; and, for a path with an
// escaped slash that it forwards as sent (plainPath), the path read by a
// server that splits it before decoding ("/users/a%2Fb" has one segment). A path
// that leaves /proxy/{project-id} once resolved is not the project's.
func previewReadings(project, path string) ([]string, error) {
	prefix := "/proxy/" + project
	var u fasthttp.URI
	u.SetPath(prefix + path)
	routed, ok := strings.CutPrefix(string(u.Path()), prefix)
	if !ok || !strings.HasPrefix(routed, "/") {
		return nil, httpapi.BadRequest(`path: leaves /proxy/{project-id} once its dot segments are resolved, as the proxy resolves them`)
	}
	readings := []string{routed}
	if esc, ok := escapedSlashReading(path); ok {
		readings = append(readings, esc)
	}
	return readings, nil
}

// escapedSlashReading returns path, when it holds an escaped slash and the
// data plane forwards it as sent (a plain path, see plainPath),
// percent-decoded but for its escaped slashes, which stay "%2f"; ok is
// false otherwise. A path the data plane does not forward as sent it
// forwards decoded, and reads only decoded.
func escapedSlashReading(path string) (string, bool) {
	low := strings.ReplaceAll(path, "%2F", "%2f")
	if !strings.Contains(low, "%2f") || !routematch.PlainPath([]byte(path)) {
		return "", false
	}
	pieces := strings.Split(low, "%2f")
	for i, piece := range pieces {
		d, err := url.PathUnescape(piece)
		if err != nil {
			return "", false
		}
		pieces[i] = d
	}
	return strings.Join(pieces, "%2f"), true
}

// errPreviewAmbiguousPath is the data plane's 400 invalid_path for a path
// whose readings match different routes.
var errPreviewAmbiguousPath = &httpapi.Error{Status: 400, Code: "invalid_path", Message: "path: reads differently to different upstreams (an escaped slash %2F) and the project's routes match each reading differently: the proxy refuses it"}

// matchPreviewRoute returns the route the data plane would apply to path:
// the first, in the store's evaluation order, whose methods and path match,
// one that does not compile included (the proxy refuses its requests).
func matchPreviewRoute(routes []keystore.Route, method, path string) *keystore.Route {
	r, _ := routeOf(routes, method, []string{path})
	return r
}

// routeOf returns the route that the readings of one path match, as the
// data plane picks it: the one every reading that matches a route agrees
// on, or nil; ok is false when two readings match different routes.
func routeOf(routes []keystore.Route, method string, readings []string) (*keystore.Route, bool) {
	var trie routematch.Trie
	for i, r := range routes {
		trie.Add(i, r.Path, r.Methods)
	}
	rank := -1
	for _, p := range readings {
		switch r := trie.Match([]byte(method), []byte(p)); {
		case r < 0:
		case rank < 0:
			rank = r
		case r != rank:
			return nil, false
		}
	}
	if rank < 0 {
		return nil, true
	}
	return &routes[rank], true
}

// phaseCompiles reports whether the proxy compiles a stored rule
// (keystore.CompileStoredPhase, which the proxy applies).
func phaseCompiles(p *keystore.RoutePhase) bool {
	if p == nil {
		return true
	}
	_, err := keystore.CompileStoredPhase(p)
	return err == nil
}

// phasePlan is what one phase would do: its mode ("" for none), the paths
// it names, and for the request, the paths the route requires.
type phasePlan struct {
	mode    string
	named   []string
	require []string
	// list: a top-level array has the paths applied in each element too
	// (answers; requests that encrypt without blind indexes)
	list bool
	// subjectField is the request rule's subject_field, or "".
	subjectField string
}

// requestPlan mirrors the data plane's request phase: the route's rule
// (whose mode a given mode may only repeat) plus the input's fields; with
// no rule, the input's fields and mode (default encrypt).
func requestPlan(route *keystore.Route, in wire.PreviewInput) (phasePlan, error) {
	given, err := previewMode(in.Mode)
	if err != nil {
		return phasePlan{}, err
	}
	if route != nil && route.Request != nil {
		rule := route.Request
		if given != "" && given != ruleMode(rule.Mode, keystore.ModeEncrypt) {
			return phasePlan{}, errPreviewConflict
		}
		m := ruleMode(rule.Mode, keystore.ModeEncrypt)
		return phasePlan{mode: m, named: concat(storedNames(rule.Fields), in.Fields), require: rule.Require, subjectField: rule.SubjectField,
			list: m == keystore.ModeEncrypt && len(rule.Index) == 0 && len(in.Index) == 0}, nil
	}
	if len(in.Fields) == 0 {
		return phasePlan{}, nil
	}
	m := ruleMode(given, keystore.ModeEncrypt)
	return phasePlan{mode: m, named: in.Fields, list: m == keystore.ModeEncrypt && len(in.Index) == 0}, nil
}

// responsePlan mirrors the data plane's response phase: the route's
// response rule plus response_fields, or response_fields alone (mode
// default decrypt).
func responsePlan(route *keystore.Route, in wire.PreviewInput) (phasePlan, error) {
	given, err := previewMode(in.ResponseMode)
	if err != nil {
		return phasePlan{}, err
	}
	var rule *keystore.RoutePhase
	if route != nil {
		rule = route.Response
	}
	switch {
	case rule == nil && len(in.ResponseFields) == 0:
		if given != "" {
			return phasePlan{}, errPreviewMode // a mode with nothing to apply it to
		}
		return phasePlan{}, nil
	case rule == nil:
		return phasePlan{mode: ruleMode(given, keystore.ModeDecrypt), named: in.ResponseFields, list: true}, nil
	}
	mode := ruleMode(rule.Mode, keystore.ModeDecrypt)
	if given != "" && given != mode {
		return phasePlan{}, errPreviewConflict
	}
	return phasePlan{mode: mode, named: concat(storedNames(rule.Fields), in.ResponseFields), list: true}, nil
}

// previewMode parses a mode as X-Qanapi-Mode is read: encrypt or decrypt
// in any letter case, "" for none given.
func previewMode(s string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(s)); m {
	case "", "encrypt", "decrypt":
		return m, nil
	}
	return "", errPreviewMode
}

// ruleMode is mode, lower case, or def when empty.
func ruleMode(mode, def string) string {
	if mode == "" {
		return def
	}
	return strings.ToLower(mode)
}

func concat(a, b []string) []string {
	return append(append([]string(nil), a...), b...)
}

// storedNames is a stored rule's paths as the data plane compiles them
// (fieldcrypt.StoredFields: one stored before brackets and the like were
// refused reads as it did then), in their canonical spelling, which the
// input's parser reads back to the same paths.
func storedNames(list []string) []string {
	f, err := fieldcrypt.StoredFields(list)
	if err != nil {
		return list
	}
	return f.Names()
}

// previewPhase works out one phase on body (nil: no body) and appends its
// hints.
func previewPhase(plan phasePlan, body []byte, phase string, hints *[]wire.PreviewHint) (wire.PreviewPhase, error) {
	out := wire.PreviewPhase{Mode: "none", Named: []string{}, Fields: []string{}, Absent: []string{}, MissingRequired: []string{}, NotTokens: []string{}}
	fields, err := planFields(plan, phase)
	if err != nil {
		return out, err
	}
	paths := parseFieldPaths(fields)
	if plan.mode != "" {
		out.Mode = plan.mode
		out.Named = fields.Names()
	}
	var root *jsonNode
	if body != nil {
		if err := fieldcrypt.Validate(body); err != nil {
			return out, httpapi.BadRequest(phase + " body: the proxy would refuse it: " + fieldcryptReason(err))
		}
		if root, err = decodeTree(body); err != nil {
			return out, err
		}
		if plan.mode == keystore.ModeEncrypt {
			if err := checkEncrypt(plan, body, fields); err != nil {
				return out, httpapi.BadRequest(phase + " body: the proxy would refuse it: " + fieldcryptReason(err))
			}
		}
	}
	covered := map[string]bool{}
	if plan.mode != "" {
		covered = transformed(plan, root, paths, &out)
	}
	previewSubject(plan.subjectField, root, &out)
	if root == nil {
		return out, nil
	}
	found, err := pii.Detect(body, func(p string) bool { return covered[p] })
	if err != nil {
		if errors.Is(err, pii.ErrTooManyValues) {
			return out, errPreviewTooManyValues
		}
		return out, err
	}
	for _, h := range found {
		*hints = append(*hints, wire.PreviewHint{Path: h.Path, Kind: h.Kind, Reason: h.Reason, Phase: phase})
	}
	return out, nil
}

// planFields parses the paths a phase names.
// checkEncrypt is what the proxy would refuse an encrypting phase's body
// for beyond its validity: a key that differs from a named field only in
// case, a path through an array of objects. A list body is checked with
// the paths in every element, as the proxy encrypts it.
func checkEncrypt(plan phasePlan, body []byte, fields fieldcrypt.Fields) error {
	if t := bytes.TrimLeft(body, " \t\r\n"); plan.list && len(t) > 0 && t[0] == '[' {
		var err error
		if fields, err = fields.ForList(); err != nil {
			return err
		}
	}
	return fieldcrypt.CheckEncrypt(body, fields)
}

func planFields(plan phasePlan, phase string) (fieldcrypt.Fields, error) {
	f, err := fieldcrypt.FieldsFromList(plan.named)
	if err != nil {
		return f, &httpapi.Error{Status: 400, Code: "invalid_fields", Message: phase + " fields: " + fieldcryptReason(err)}
	}
	return f, nil
}

// transformed fills out's fields, values, absent, missing and not-token
// paths, and returns the concrete paths of the values that would be
// transformed.
func transformed(plan phasePlan, root *jsonNode, paths []fieldPath, out *wire.PreviewPhase) map[string]bool {
	covered := map[string]bool{}
	for _, r := range plan.require {
		f, err := fieldcrypt.StoredFields([]string{r})
		if err != nil || root == nil || !requiredIn(plan, root, parseFieldPaths(f)[0]) {
			out.MissingRequired = append(out.MissingRequired, r)
		}
	}
	if root == nil || plan.list && root.kind != '[' && root.kind != '{' {
		out.Absent = append(out.Absent, out.Named...)
		return covered
	}
	match := paths
	if plan.list && root.kind == '[' {
		match = underEachElement(paths)
	}
	targets, reached := matchFields(root, match)
	seen := map[string]bool{}
	for _, t := range targets {
		covered[t.concrete] = true
		out.Values++
		if !seen[t.display] {
			seen[t.display] = true
			out.Fields = append(out.Fields, t.display)
		}
		if plan.mode == keystore.ModeDecrypt && !(t.node.kind == '"' && fieldcrypt.IsToken([]byte(t.node.str))) && !slices.Contains(out.NotTokens, t.display) {
			out.NotTokens = append(out.NotTokens, t.display)
		}
	}
	found := map[int]bool{} // named paths reached, themselves or by a spelling
	for i, ok := range reached {
		if ok {
			found[paths[i].of] = true
		}
	}
	for i, p := range paths {
		if p.of == i && !found[i] {
			out.Absent = append(out.Absent, p.name)
		}
	}
	return covered
}

// requiredIn reports whether a required path is in root: in every element
// when the plan takes a list body so (as the data plane checks it).
func requiredIn(plan phasePlan, root *jsonNode, p fieldPath) bool {
	if !plan.list || root.kind != '[' {
		return exists(root, p)
	}
	for _, el := range root.kids {
		if el.kind != '{' || !exists(el, p) {
			return false
		}
	}
	return true
}

// underEachElement returns paths as the data plane applies them to each
// element of a top-level array: a leading * before those that start with a
// key (see fieldcrypt.AppendListNames).
func underEachElement(paths []fieldPath) []fieldPath {
	out := make([]fieldPath, len(paths))
	for i, p := range paths {
		if len(p.segs) > 0 && (p.segs[0].wild || p.segs[0].index >= 0) {
			out[i] = p // names elements already (*.ssn, 0.ssn), as fieldcrypt.AppendListNames keeps it
			continue
		}
		out[i] = fieldPath{name: p.name, segs: append([]fieldSeg{{index: -1, wild: true}}, p.segs...), of: p.of}
	}
	return out
}

// fieldcryptReason is the message of a fieldcrypt sentinel in err, without
// the operations that wrap it ("fieldcrypt.Validate: fieldcrypt: …").
func fieldcryptReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "fieldcrypt: "); i >= 0 {
		return msg[i+len("fieldcrypt: "):]
	}
	return msg
}
