package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
)

// fakeAdmin is an in-memory admin API with projects, routes,
// classifications and keys, enough for apply and export. It records every
// call that is not a GET, and pages lists two items at a time so clients
// must follow cursors.
type fakeAdmin struct {
	t          *testing.T
	srv        *httptest.Server
	mu         sync.Mutex
	seq        int
	projects   []*wire.Project
	routes     map[string][]*wire.Route
	classes    map[string][]*wire.Classification
	keys       map[string][]wire.Key
	noClassAPI bool
	writes     []string
	// refuse, when set, may refuse a write with a 400 invalid_request
	// carrying its message.
	refuse func(method, path string, body []byte) string
}

func newFakeAdmin(t *testing.T) *fakeAdmin {
	f := &fakeAdmin{t: t, routes: map[string][]*wire.Route{}, classes: map[string][]*wire.Classification{}, keys: map[string][]wire.Key{}}
	mux := http.NewServeMux()
	p := "/admin/v1/projects"
	mux.HandleFunc("GET "+p, f.listProjects)
	mux.HandleFunc("POST "+p, f.createProject)
	mux.HandleFunc("PATCH "+p+"/{id}", f.updateProject)
	mux.HandleFunc("DELETE "+p+"/{id}", f.deleteProject)
	mux.HandleFunc("GET "+p+"/{id}/routes", f.listRoutes)
	mux.HandleFunc("POST "+p+"/{id}/routes", f.createRoute)
	mux.HandleFunc("GET "+p+"/{id}/routes/{rid}", f.getRoute)
	mux.HandleFunc("PUT "+p+"/{id}/routes/{rid}", f.replaceRoute)
	mux.HandleFunc("DELETE "+p+"/{id}/routes/{rid}", f.deleteRoute)
	mux.HandleFunc("GET "+p+"/{id}/classifications", f.listClasses)
	mux.HandleFunc("POST "+p+"/{id}/classifications", f.createClass)
	mux.HandleFunc("GET "+p+"/{id}/classifications/{slug}", f.getClass)
	mux.HandleFunc("PUT "+p+"/{id}/classifications/{slug}", f.replaceClass)
	mux.HandleFunc("DELETE "+p+"/{id}/classifications/{slug}", f.deleteClass)
	mux.HandleFunc("GET "+p+"/{id}/keys", f.listKeys)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fake-token" {
			fakeError(w, 401, "unauthorized", "unauthorized")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method != "GET" {
			body := new(bytes.Buffer)
			body.ReadFrom(r.Body)
			r.Body.Close()
			f.writes = append(f.writes, r.Method+" "+r.URL.Path)
			if f.refuse != nil {
				if msg := f.refuse(r.Method, r.URL.Path, body.Bytes()); msg != "" {
					fakeError(w, 400, "invalid_request", msg)
					return
				}
			}
			r.Body = readCloser{bytes.NewReader(body.Bytes())}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// env is the CLI environment that talks to the fake.
func (f *fakeAdmin) env() fakeEnv {
	return fakeEnv{config.EnvAdminAddr: f.srv.URL, config.EnvAdminToken: "fake-token"}
}

// writeCount is how many non-GET calls the fake has had.
func (f *fakeAdmin) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes)
}

// snapshot is the fake's whole state as JSON, for before/after compares.
func (f *fakeAdmin) snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"projects": f.projects, "routes": f.routes, "classes": f.classes})
	return string(b)
}

func fakeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(wire.ErrorBody{Error: wire.ErrorDetail{Code: code, Message: msg, RequestID: "fake-1"}})
}

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// page answers items two at a time; the cursor is the index of the next.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) {
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(start+2, len(items))
	pg := wire.Page[T]{Items: append([]T{}, items[start:end]...)}
	if end < len(items) {
		next := strconv.Itoa(end)
		pg.NextCursor = &next
	}
	fakeJSON(w, 200, pg)
}

func (f *fakeAdmin) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%012d", prefix, f.seq)
}

func (f *fakeAdmin) project(w http.ResponseWriter, r *http.Request) *wire.Project {
	for _, p := range f.projects {
		if p.ID == r.PathValue("id") {
			return p
		}
	}
	fakeError(w, 404, "not_found", "no such project")
	return nil
}

func decodeFake(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fakeError(w, 400, "invalid_request", err.Error())
		return false
	}
	return true
}

func (f *fakeAdmin) listProjects(w http.ResponseWriter, r *http.Request) {
	page(w, r, f.projects)
}

// addProject adds a project with the server's defaults and in's settings.
func (f *fakeAdmin) addProject(in wire.ProjectInput) *wire.Project {
	p := &wire.Project{ID: f.newID("prj"), Environment: "development", Destinations: []string{},
		RateLimit: wire.RateLimit{RequestsPerSecond: 100, Burst: 200}, MaxActiveKeys: 10, CreatedAt: time.Unix(0, 0).UTC()}
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Environment != nil {
		p.Environment = *in.Environment
	}
	setProject(p, in)
	f.projects = append(f.projects, p)
	return p
}

func setProject(p *wire.Project, in wire.ProjectInput) {
	if in.Upstream != nil {
		p.Upstream = *in.Upstream
	}
	if in.Destinations != nil {
		p.Destinations = *in.Destinations
	}
	if in.RateLimit != nil {
		p.RateLimit = *in.RateLimit
	}
	if in.MaxActiveKeys != nil {
		p.MaxActiveKeys = *in.MaxActiveKeys
	}
	if in.BindFields != nil {
		p.BindFields = *in.BindFields
	}
}

func (f *fakeAdmin) createProject(w http.ResponseWriter, r *http.Request) {
	var in wire.ProjectInput
	if decodeFake(w, r, &in) {
		fakeJSON(w, 201, f.addProject(in))
	}
}

func (f *fakeAdmin) updateProject(w http.ResponseWriter, r *http.Request) {
	var in wire.ProjectInput
	if p := f.project(w, r); p != nil && decodeFake(w, r, &in) {
		if in.Environment != nil && *in.Environment != p.Environment {
			fakeError(w, 400, "invalid_request", "environment: cannot be changed after the project is created")
			return
		}
		setProject(p, in)
		fakeJSON(w, 200, p)
	}
}

func (f *fakeAdmin) deleteProject(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		f.projects = slices.DeleteFunc(f.projects, func(q *wire.Project) bool { return q == p })
		delete(f.routes, p.ID)
		delete(f.classes, p.ID)
		w.WriteHeader(204)
	}
}

// sortedRoutes is a project's routes in evaluation order.
func (f *fakeAdmin) sortedRoutes(id string) []*wire.Route {
	list := slices.Clone(f.routes[id])
	slices.SortStableFunc(list, func(a, b *wire.Route) int { return cmp.Compare(a.Order, b.Order) })
	return list
}

func (f *fakeAdmin) listRoutes(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		page(w, r, f.sortedRoutes(p.ID))
	}
}

// addRoute stores in as a route of project id (the caller checked it).
func (f *fakeAdmin) addRoute(id string, in wire.RouteInput) *wire.Route {
	rt := &wire.Route{ID: f.newID("rt"), ProjectID: id}
	setRoute(rt, in)
	f.routes[id] = append(f.routes[id], rt)
	return rt
}

func setRoute(rt *wire.Route, in wire.RouteInput) {
	rt.Methods, rt.Path, rt.Order, rt.Request, rt.Response = []string{}, in.Path, in.Order, nil, nil
	for _, m := range in.Methods {
		rt.Methods = append(rt.Methods, strings.ToUpper(m))
	}
	if q := in.Request; q != nil {
		rt.Request = &wire.RequestRule{Mode: q.Mode, Fields: q.Fields, Classification: q.Classification, Require: nonNilStrings(q.Require), SubjectField: q.SubjectField}
	}
	if q := in.Response; q != nil {
		rt.Response = &wire.ResponseRule{Mode: cmp.Or(q.Mode, "decrypt"), Fields: q.Fields}
	}
}

// routeClassDefined: a route's request classification must be defined.
func (f *fakeAdmin) routeClassDefined(w http.ResponseWriter, id string, in wire.RouteInput) bool {
	if f.noClassAPI || in.Request == nil || in.Request.Classification == "" || f.class(id, in.Request.Classification) != nil {
		return true
	}
	fakeError(w, 400, "invalid_request", fmt.Sprintf("request.classification: no such classification %q in this project (create it first)", in.Request.Classification))
	return false
}

func (f *fakeAdmin) createRoute(w http.ResponseWriter, r *http.Request) {
	var in wire.RouteInput
	if p := f.project(w, r); p != nil && decodeFake(w, r, &in) && f.routeClassDefined(w, p.ID, in) {
		fakeJSON(w, 201, f.addRoute(p.ID, in))
	}
}

func (f *fakeAdmin) findRoute(w http.ResponseWriter, r *http.Request, id string) *wire.Route {
	for _, rt := range f.routes[id] {
		if rt.ID == r.PathValue("rid") {
			return rt
		}
	}
	fakeError(w, 404, "not_found", "no such route")
	return nil
}

func (f *fakeAdmin) getRoute(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		if rt := f.findRoute(w, r, p.ID); rt != nil {
			fakeJSON(w, 200, rt)
		}
	}
}

func (f *fakeAdmin) getClass(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		if c := f.class(p.ID, r.PathValue("slug")); c != nil {
			fakeJSON(w, 200, c)
			return
		}
		fakeError(w, 404, "not_found", "no such classification")
	}
}

func (f *fakeAdmin) replaceRoute(w http.ResponseWriter, r *http.Request) {
	var in wire.RouteInput
	if p := f.project(w, r); p != nil && decodeFake(w, r, &in) && f.routeClassDefined(w, p.ID, in) {
		if rt := f.findRoute(w, r, p.ID); rt != nil {
			setRoute(rt, in)
			fakeJSON(w, 200, rt)
		}
	}
}

func (f *fakeAdmin) deleteRoute(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		if rt := f.findRoute(w, r, p.ID); rt != nil {
			f.routes[p.ID] = slices.DeleteFunc(f.routes[p.ID], func(q *wire.Route) bool { return q == rt })
			w.WriteHeader(204)
		}
	}
}

func (f *fakeAdmin) class(id, slug string) *wire.Classification {
	for _, c := range f.classes[id] {
		if c.Slug == slug {
			return c
		}
	}
	return nil
}

func (f *fakeAdmin) listClasses(w http.ResponseWriter, r *http.Request) {
	if f.noClassAPI {
		fakeError(w, 404, "not_found", "not found")
		return
	}
	if p := f.project(w, r); p != nil {
		none := &wire.Classification{Slug: "none", Name: "No classification", Mask: defaultMask(), Builtin: true}
		list := append([]*wire.Classification{none}, f.classes[p.ID]...)
		slices.SortFunc(list, func(a, b *wire.Classification) int { return cmp.Compare(a.Slug, b.Slug) })
		page(w, r, list)
	}
}

// putClass stores in (name and mask defaulted) as classification slug of
// project id.
func (f *fakeAdmin) putClass(id, slug string, in wire.ClassificationInput) *wire.Classification {
	c := wire.Classification{Slug: slug, Name: cmp.Or(in.Name, slug), Description: in.Description, Mask: defaultMask()}
	if m := in.Mask; m != nil {
		if m.ShowFirst != nil {
			c.Mask.ShowFirst = *m.ShowFirst
		}
		if m.ShowLast != nil {
			c.Mask.ShowLast = *m.ShowLast
		}
		if m.Char != nil {
			c.Mask.Char = *m.Char
		}
	}
	if old := f.class(id, slug); old != nil {
		*old = c
		return old
	}
	f.classes[id] = append(f.classes[id], &c)
	return &c
}

func (f *fakeAdmin) createClass(w http.ResponseWriter, r *http.Request) {
	var in wire.ClassificationInput
	if p := f.project(w, r); p != nil && decodeFake(w, r, &in) {
		if f.class(p.ID, in.Slug) != nil {
			fakeError(w, 409, "classification_exists", "exists")
			return
		}
		fakeJSON(w, 201, f.putClass(p.ID, in.Slug, in))
	}
}

func (f *fakeAdmin) replaceClass(w http.ResponseWriter, r *http.Request) {
	var in wire.ClassificationInput
	if p := f.project(w, r); p != nil && decodeFake(w, r, &in) {
		slug := r.PathValue("slug")
		if f.class(p.ID, slug) == nil {
			fakeError(w, 404, "not_found", "no such classification")
			return
		}
		if in.Slug != "" && in.Slug != slug {
			fakeError(w, 400, "invalid_request", "slug: cannot be changed")
			return
		}
		fakeJSON(w, 200, f.putClass(p.ID, slug, in))
	}
}

func (f *fakeAdmin) deleteClass(w http.ResponseWriter, r *http.Request) {
	p := f.project(w, r)
	if p == nil {
		return
	}
	slug := r.PathValue("slug")
	for _, rt := range f.routes[p.ID] {
		if rt.Request != nil && rt.Request.Classification == slug {
			fakeError(w, 409, "classification_in_use", fmt.Sprintf("classification %q is named by route %s", slug, rt.ID))
			return
		}
	}
	for _, k := range f.keys[p.ID] {
		if k.Status == "active" && slices.Contains(k.Classifications, slug) {
			fakeError(w, 409, "classification_in_use", fmt.Sprintf("classification %q is named by key %s", slug, k.ID))
			return
		}
	}
	f.classes[p.ID] = slices.DeleteFunc(f.classes[p.ID], func(c *wire.Classification) bool { return c.Slug == slug })
	w.WriteHeader(204)
}

func (f *fakeAdmin) listKeys(w http.ResponseWriter, r *http.Request) {
	if p := f.project(w, r); p != nil {
		var list []wire.Key
		for _, k := range f.keys[p.ID] {
			if s := r.URL.Query().Get("status"); s == "" || s == k.Status {
				list = append(list, k)
			}
		}
		page(w, r, list)
	}
}

// seed adds a project with routes and classifications straight to the
// fake's state (no write recorded) and returns its id.
func (f *fakeAdmin) seed(in wire.ProjectInput, classes []wire.Classification, routes ...wire.RouteInput) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.addProject(in)
	for _, c := range classes {
		f.putClass(p.ID, c.Slug, classInput(c))
	}
	for _, rt := range routes {
		f.addRoute(p.ID, rt)
	}
	return p.ID
}
