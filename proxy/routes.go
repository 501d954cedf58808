package proxy

import (
	"strings"
	"sync"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/routematch"
	"github.com/sdproxy/sdproxy/keystore"
)

// routeSet is one project's routes compiled for matching and
// transforming: built once per change of the project's routes (the store
// bumps a version), then only read.
type routeSet struct {
	version uint64
	trie    routematch.Trie
	routes  []route // by rank: the store's evaluation order
}

// route is one compiled route.
type route struct {
	id       string
	request  *phase // nil: the route has no request rule
	response *phase // nil: no response rule
	// broken: the stored route does not compile. It still matches, so
	// that its requests are refused (500) rather than forwarded past
	// rules that cannot be applied.
	broken bool
}

// phase is one direction's rule, compiled.
type phase struct {
	mode  mode
	class string // request phase: the classification of new tokens, or ""
	// fields are the rule's paths; listFields, for a body whose top level
	// is an array (list answers), the same paths as they are and under '*.'
	// (so both "title" and "*.title" reach every element's title).
	fields, listFields fieldcrypt.Fields
	names              string   // the paths, comma-joined (events, merging with headers)
	nameBytes          []byte   // names, as bytes
	require            []string // request phase: paths that must be present
	// index and indexSpec: the request rule's blind indexes (index.go).
	index     fieldcrypt.Index
	indexSpec string
	// subjectField, request phase: the path whose string value is the
	// data subject (subject.go), and subjectPath its gjson form; "" none.
	subjectField, subjectPath string
}

// compileRoutes compiles the store's routes of one project. A route the
// store accepted compiles; one that does not (a store written by another
// version, or changed by hand) still matches but is broken, so that its
// requests are refused rather than forwarded past its rules. A path
// stored before other path notations were refused ($.ssn,
// items[0].card…) is read as it was, as keys. warn (when not nil) hears
// of both, with the route's id and the path; never a value.
func compileRoutes(rs []keystore.Route, version uint64, warn func(msg string, args ...any)) *routeSet {
	set := &routeSet{version: version, routes: make([]route, 0, len(rs))}
	for _, r := range rs {
		if warn != nil {
			for _, p := range []*keystore.RoutePhase{r.Request, r.Response} {
				for _, path := range legacyPaths(p) {
					warn("a route's field path is in a notation field lists now refuse; it is read as before, as keys: save the route again with the path escaped, or as meant",
						"route", r.ID, "path", path)
				}
			}
		}
		c := route{id: r.ID}
		var okReq, okResp bool
		c.request, okReq = compilePhase(r.Request, modeEncrypt)
		c.response, okResp = compilePhase(r.Response, modeDecrypt)
		if c.broken = !okReq || !okResp; c.broken && warn != nil {
			warn("a stored route does not compile: the requests it matches are refused (500) until it is saved again", "route", r.ID)
		}
		set.trie.Add(len(set.routes), r.Path, upper(r.Methods))
		set.routes = append(set.routes, c)
	}
	return set
}

// legacyPaths returns the paths of p (fields, require, subject_field, index)
// that the parser of new input refuses: stored before the check.
func legacyPaths(p *keystore.RoutePhase) []string {
	if p == nil {
		return nil
	}
	var out []string
	index := make([]string, len(p.Index))
	for i, x := range p.Index {
		index[i] = x.Field
	}
	for _, list := range [][]string{p.Fields, p.Require, {p.SubjectField}, index} {
		for _, path := range list {
			if _, err := fieldcrypt.FieldsFromList([]string{path}); path != "" && err != nil {
				out = append(out, path)
			}
		}
	}
	return out
}

func compilePhase(p *keystore.RoutePhase, def mode) (*phase, bool) {
	if p == nil {
		return nil, true
	}
	c := &phase{mode: def, class: p.Classification, require: p.Require}
	if p.SubjectField != "" {
		c.subjectField, c.subjectPath = p.SubjectField, gjsonPath(p.SubjectField)
	}
	if m, ok := parseMode([]byte(p.Mode)); ok && p.Mode != "" {
		c.mode = m
	}
	cp, err := keystore.CompileStoredPhase(p)
	if err != nil {
		return nil, false
	}
	c.fields, c.listFields, c.index, c.indexSpec = cp.Fields, cp.ListFields, cp.Index, indexSpec(cp.Index)
	// The canonical spellings, which X-Qanapi-Fields' parser reads back
	// to the same paths when a header adds to them (a path stored before
	// brackets and the like were refused is spelt with escapes).
	c.names = strings.Join(c.fields.Names(), ",")
	c.nameBytes = []byte(c.names)
	return c, true
}

func upper(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	out := make([]string, len(methods))
	for i, m := range methods {
		out[i] = strings.ToUpper(m)
	}
	return out
}

// routeCache keeps each project's compiled routes, recompiled when the
// store's version of them changes.
type routeCache struct {
	mu   sync.RWMutex
	sets map[string]*routeSet
}

// matchRoute returns the route of the project (by id, as stored) for
// method and path, or nil, and whether the project has routes at all;
// raw is the request's path as sent and project the id as the path spells
// it (see forwardedRaw and routeRank). It returns errAmbiguousPath when
// readings of the path match different routes. Projects without routes
// cost one map look-up.
func (d *Data) matchRoute(projectID []byte, method, path, raw, project []byte) (*route, bool, error) {
	rs, version := d.store.CachedRoutes(projectID)
	if len(rs) == 0 {
		return nil, false, nil
	}
	c := &d.routes
	c.mu.RLock()
	set := c.sets[string(projectID)]
	c.mu.RUnlock()
	if set == nil || set.version != version {
		set = compileRoutes(rs, version, func(msg string, args ...any) {
			d.log.Warn(msg, append([]any{"project", string(projectID)}, args...)...)
		})
		c.mu.Lock()
		if c.sets == nil {
			c.sets = map[string]*routeSet{}
		}
		c.sets[string(projectID)] = set
		c.mu.Unlock()
	}
	rank, ok := routeRank(&set.trie, method, path, forwardedRaw(raw, project))
	switch {
	case !ok:
		return nil, true, errAmbiguousPath
	case rank >= 0:
		return &set.routes[rank], true, nil
	}
	return nil, true, nil
}
