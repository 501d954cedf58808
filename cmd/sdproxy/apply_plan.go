package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// What `sdproxy apply` does to each object: the plan. Objects are
// matched: projects by name, classifications by slug, routes by path and
// sorted methods within their project.

// Plan actions.
const (
	actCreate    = "create"
	actUpdate    = "update"
	actUnchanged = "unchanged"
	actDelete    = "delete"
	actKeep      = "kept"
)

// Kinds of planned objects.
const (
	kindProject = "project"
	kindClass   = "classification"
	kindRoute   = "route"
)

// planEntry is what apply does to one object.
type planEntry struct {
	Kind    string        `json:"kind"`
	Project string        `json:"project"`
	Name    string        `json:"name"`
	ID      string        `json:"id,omitempty"`
	Action  string        `json:"action"`
	Changes []fieldChange `json:"changes,omitempty"`

	field string // where the object is in the file; "" when it is not

	file  any // *policyProject, *policyClass or *policyRoute; nil when not in the file
	srv   any // *wire.Project, *wire.Classification or *wire.Route; nil when not on the server
	route routeSpec
}

// writes reports whether the entry changes anything on the server.
func (e *planEntry) writes() bool {
	return e.Action == actCreate || e.Action == actUpdate || e.Action == actDelete
}

// projectPlan is the plan of one project: the project itself, then its
// classifications and routes.
type projectPlan struct {
	self    *planEntry
	classes []*planEntry
	routes  []*planEntry
}

func (pp *projectPlan) entries() []*planEntry {
	return append(append([]*planEntry{pp.self}, pp.classes...), pp.routes...)
}

// writes counts the writes the project's plan makes.
func (pp *projectPlan) writes() int {
	n := 0
	for _, e := range pp.entries() {
		if e.writes() {
			n++
		}
	}
	return n
}

// applyPlan is the plan of a whole file: the file's projects in its order,
// then the server's projects that are not in the file.
type applyPlan struct {
	projects []*projectPlan
}

func (p *applyPlan) entries() []*planEntry {
	var out []*planEntry
	for _, pp := range p.projects {
		out = append(out, pp.entries()...)
	}
	return out
}

// counts returns how many entries have each action.
func (p *applyPlan) counts() map[string]int {
	c := map[string]int{}
	for _, e := range p.entries() {
		c[e.Action]++
	}
	return c
}

// planner builds a plan and collects the problems only the server's
// state shows (a name held by two projects, an environment change, a
// classification that is not defined, a route cap exceeded).
type planner struct {
	pol      *policy
	st       stateReader
	prune    bool
	problems []fileProblem
}

func (pl *planner) fail(field, format string, a ...any) {
	pl.problems = append(pl.problems, fileProblem{Line: pl.pol.line(field), Field: field, Msg: fmt.Sprintf(format, a...)})
}

// buildPlan compares pol with the server's state. An error is one of
// reading the state; problems are the file's, against that state.
func buildPlan(pol *policy, st stateReader, prune bool) (*applyPlan, []fileProblem, error) {
	pl := &planner{pol: pol, st: st, prune: prune}
	all, err := st.projects()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string][]wire.Project{}
	for _, p := range all {
		byName[p.Name] = append(byName[p.Name], p)
	}
	plan := &applyPlan{}
	declared := map[string]bool{}
	for _, fp := range pol.Projects {
		declared[fp.Name] = true
		matches := byName[fp.Name]
		if len(matches) > 1 {
			ids := make([]string, len(matches))
			for i, m := range matches {
				ids[i] = m.ID
			}
			pl.fail(fp.Field+".name", "%d projects on the server are named %q (%s): rename or delete all but one", len(matches), fp.Name, strings.Join(ids, ", "))
			continue
		}
		var sp *serverProject
		if len(matches) == 1 {
			if sp, err = st.project(matches[0]); err != nil {
				return nil, nil, err
			}
		}
		pp, err := pl.project(fp, sp)
		if err != nil {
			return nil, nil, err
		}
		plan.projects = append(plan.projects, pp)
	}
	for _, p := range all {
		if !declared[p.Name] {
			e := &planEntry{Kind: kindProject, Project: p.Name, Name: p.Name, ID: p.ID, Action: pl.orphan(), srv: &p}
			plan.projects = append(plan.projects, &projectPlan{self: e})
			if e.Action == actDelete {
				if err := pl.checkPrunedProject(p); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return plan, pl.problems, nil
}

// checkPrunedProject: --prune does not delete a project whose API keys are
// active. Deleting a project deletes its data keys, so every token it
// sealed becomes unreadable; a file that leaves a project out (an export
// of one project, say) must not do that to a project in use.
func (pl *planner) checkPrunedProject(p wire.Project) error {
	keys, err := pl.st.activeKeys(p.ID)
	if err != nil {
		return fmt.Errorf("keys of project %q: %w", p.Name, err)
	}
	var by []string
	for _, k := range keys {
		if k.Status == "active" {
			by = append(by, k.ID)
		}
	}
	if len(by) > 0 {
		pl.fail("projects", "--prune would delete project %q (%s) with its data keys, and active keys %s use it: declare it in the file, "+
			"or revoke its keys first (or delete it with sdproxy project delete)", p.Name, p.ID, strings.Join(by, ", "))
	}
	return nil
}

// orphan is the action for an object on the server but not in the file.
func (pl *planner) orphan() string {
	if pl.prune {
		return actDelete
	}
	return actKeep
}

// project plans one project of the file; sp is nil when the server has no
// project of that name.
func (pl *planner) project(fp *policyProject, sp *serverProject) (*projectPlan, error) {
	self := &planEntry{Kind: kindProject, Project: fp.Name, Name: fp.Name, field: fp.Field, file: fp}
	pp := &projectPlan{self: self}
	if sp == nil {
		self.Action, self.Changes = actCreate, projectDiffKey(wire.Project{}, fp.Settings, true, fp.KeyFile)
		pl.checkClientKey(fp, wire.Project{})
	} else {
		self.ID, self.srv = sp.Project.ID, &sp.Project
		if env := fp.Settings.Environment; env != nil && *env != sp.Project.Environment {
			pl.fail(fp.Field+".environment", "cannot change from %s to %s: a project's environment is fixed when it is created", sp.Project.Environment, *env)
		}
		self.Changes = projectDiffKey(sp.Project, fp.Settings, false, fp.KeyFile)
		self.Action = actionOf(self.Changes)
		pl.checkClientKey(fp, sp.Project)
	}
	pp.classes = pl.classes(fp, sp)
	pp.routes = pl.routes(fp, sp)
	pl.checkRouteCap(fp, pp)
	if err := pl.checkClassRefs(fp, sp, pp); err != nil {
		return nil, err
	}
	return pp, nil
}

// checkClientKey fails a client certificate that would change (p is the
// server's project, zero when it has none) without its key: the key is
// needed only then.
func (pl *planner) checkClientKey(fp *policyProject, p wire.Project) {
	in := fp.Settings
	if in.UpstreamClientKey == nil && in.UpstreamClientCert != nil && clientCertChange(in, p) {
		pl.fail(fp.Field+".upstream_client_cert", "changes the client certificate, so upstream_client_key_file (its private key) is needed too")
	}
}

func actionOf(changes []fieldChange) string {
	if len(changes) == 0 {
		return actUnchanged
	}
	return actUpdate
}

// classes plans a project's classifications: the file's in its order,
// then the server's that are not in the file.
func (pl *planner) classes(fp *policyProject, sp *serverProject) []*planEntry {
	onServer := map[string]*wire.Classification{}
	if sp != nil {
		for i := range sp.Classes {
			onServer[sp.Classes[i].Slug] = &sp.Classes[i]
		}
	}
	var out []*planEntry
	for _, fc := range fp.Classifications {
		e := &planEntry{Kind: kindClass, Project: fp.Name, Name: fc.Class.Slug, field: fc.Field, file: fc}
		if old := onServer[fc.Class.Slug]; old != nil {
			e.srv, e.Changes = old, classDiff(old, fc.Class)
			e.Action = actionOf(e.Changes)
			delete(onServer, fc.Class.Slug)
		} else {
			e.Action, e.Changes = actCreate, classDiff(nil, fc.Class)
		}
		out = append(out, e)
	}
	if sp != nil {
		for i := range sp.Classes {
			if c := &sp.Classes[i]; onServer[c.Slug] != nil {
				out = append(out, &planEntry{Kind: kindClass, Project: fp.Name, Name: c.Slug, Action: pl.orphan(), srv: c})
			}
		}
	}
	return out
}

// routes plans a project's routes: the file's in its order, then the
// server's that no route of the file matched. Each route of the file
// matches the first route of the server (in evaluation order) with the
// same path and methods that no other matched.
func (pl *planner) routes(fp *policyProject, sp *serverProject) []*planEntry {
	var srv []wire.Route
	if sp != nil {
		srv = sp.Routes
	}
	matched := make([]bool, len(srv))
	var out []*planEntry
	for _, fr := range fp.Routes {
		e := &planEntry{Kind: kindRoute, Project: fp.Name, Name: fr.Spec.label(), field: fr.Field, file: fr, route: fr.Spec, Action: actCreate}
		for i := range srv {
			if !matched[i] && routeSpecOf(srv[i]).key() == fr.Spec.key() {
				matched[i] = true
				e.ID, e.srv = srv[i].ID, &srv[i]
				e.Changes = routeDiff(routeSpecOf(srv[i]), fr.Spec)
				e.Action = actionOf(e.Changes)
				break
			}
		}
		if e.Action == actCreate {
			e.Changes = routeDiff(routeSpec{}, fr.Spec)
		}
		out = append(out, e)
	}
	for i := range srv {
		if !matched[i] {
			spec := routeSpecOf(srv[i])
			out = append(out, &planEntry{Kind: kindRoute, Project: fp.Name, Name: spec.label(), ID: srv[i].ID, Action: pl.orphan(), srv: &srv[i], route: spec})
		}
	}
	return out
}

// checkRouteCap: the routes a project keeps after the apply must fit the
// server's cap.
func (pl *planner) checkRouteCap(fp *policyProject, pp *projectPlan) {
	n := 0
	for _, e := range pp.routes {
		if e.Action != actDelete {
			n++
		}
	}
	if n > keystore.MaxRoutes {
		pl.fail(fp.Field+".routes", "the project would hold %d routes (%d on the server not in the file are kept without --prune): at most %d", n, n-len(fp.Routes), keystore.MaxRoutes)
	}
}

// checkClassRefs: each route written names a classification the project
// will define, and no classification --prune deletes is still named by an
// active key. Skipped when the server has no classifications API.
func (pl *planner) checkClassRefs(fp *policyProject, sp *serverProject, pp *projectPlan) error {
	if sp != nil && sp.NoClassAPI {
		return nil
	}
	defined := map[string]bool{}
	var deleted []string
	for _, e := range pp.classes {
		if e.Action == actDelete {
			deleted = append(deleted, e.Name)
		} else {
			defined[e.Name] = true
		}
	}
	for _, e := range pp.routes {
		if e.file == nil || e.route.Request == nil || e.route.Request.Classification == "" {
			continue
		}
		slug := e.route.Request.Classification
		if !defined[slug] && (e.writes() || slices.Contains(deleted, slug)) {
			pl.fail(e.field+".request.classification", "no classification %q in project %q: declare it under classifications", slug, fp.Name)
		}
	}
	if len(deleted) == 0 || sp == nil {
		return nil
	}
	keys, err := pl.st.activeKeys(sp.Project.ID)
	if err != nil {
		return fmt.Errorf("keys of project %q: %w", fp.Name, err)
	}
	for _, slug := range deleted {
		var by []string
		for _, k := range keys {
			if k.Status == "active" && slices.Contains(k.Classifications, slug) {
				by = append(by, k.ID)
			}
		}
		if len(by) > 0 {
			pl.fail(fp.Field+".classifications", "--prune would delete classification %q, which active keys %s name: declare it, or revoke the keys", slug, strings.Join(by, ", "))
		}
	}
	return nil
}
