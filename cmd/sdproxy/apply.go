package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

const applyLong = `Apply a policy file: make the projects it names (by name), with their
settings, classifications and routes, what the file says, through the admin
API. API keys are never part of a policy file.

apply first checks the whole file against the admin API's rules and names
FILE:LINE: field: problem for each one; then it reads the server's state,
prints a plan (create, update with a field diff, unchanged, delete) and
applies it. Projects are matched by name, classifications by slug, routes by
path and methods. Applying the same file twice changes nothing the second
time. A project's changes are all-or-nothing: when one is refused, apply
undoes the project's earlier changes of this run (best effort) and reports.

Objects on the server that the file does not name are kept and listed as
"not in the file", unless --prune is given: then they are deleted, projects
(with their keys) included.

"sdproxy export" writes the same format. The file format is described in
docs/policy-as-code.md; docs/sdproxy-config.schema.json is its JSON Schema.`

// applyOptions are the flags of `sdproxy apply`.
type applyOptions struct {
	file   string
	dryRun bool
	prune  bool
}

func newApplyCmd(getenv func(string) string) *cobra.Command {
	cl := &clientFlags{getenv: getenv}
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Apply a policy file (projects, classifications, routes; never keys)",
		Long:  applyLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runApply(cl, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cl.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "the policy file, YAML or JSON (- for standard input)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&o.prune, "prune", false, "delete projects, classifications and routes that the file does not name")
	cmd.MarkFlagRequired("file")
	return cmd
}

// runApply is `sdproxy apply`.
func runApply(cl *clientFlags, o applyOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	data, name, err := readPolicyFile(o.file, stdin)
	if err != nil {
		return err
	}
	pol, err := decodePolicy(name, data)
	if err != nil {
		return reportProblems(stderr, err.(*problemList))
	}
	c, err := cl.client()
	if err != nil {
		return err
	}
	plan, problems, err := buildPlan(pol, clientState{c}, o.prune)
	if err != nil {
		return err
	}
	if cl.output != "json" {
		if err := printPlan(stdout, plan); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		pl := &problemList{File: name, List: problems}
		pl.sort()
		return reportProblems(stderr, pl)
	}
	res := applyResult{DryRun: o.dryRun, Changes: plan.entries(), Summary: plan.counts()}
	if o.dryRun || res.Summary[actCreate]+res.Summary[actUpdate]+res.Summary[actDelete] == 0 {
		res.Applied = !o.dryRun
		if cl.output == "json" {
			return printApplyJSON(stdout, res)
		}
		msg := "Nothing to change."
		if o.dryRun {
			msg = "Dry run: nothing was changed."
		}
		_, err := fmt.Fprintln(stdout, msg)
		return err
	}
	return executePlan(&applyRun{c: c, pol: pol, stderr: stderr}, plan, res, cl.output == "json", stdout)
}

// executePlan applies plan project by project and reports how it went.
func executePlan(r *applyRun, plan *applyPlan, res applyResult, asJSON bool, stdout io.Writer) error {
	for _, pp := range plan.projects {
		if pp.writes() > 0 && !r.project(pp) {
			res.Failed = append(res.Failed, pp.self.Name)
		}
	}
	res.Applied = len(res.Failed) == 0
	if asJSON {
		if err := printApplyJSON(stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "Applied: %d created, %d updated, %d deleted.\n", r.done[actCreate], r.done[actUpdate], r.done[actDelete])
	}
	switch n := len(res.Failed); {
	case n == 1:
		return fmt.Errorf("project %s failed and was rolled back; the file's other projects were applied", jsonText(res.Failed[0]))
	case n > 1:
		return fmt.Errorf("%d projects failed and were rolled back (%s); the file's other projects were applied", n, strings.Join(quoteAll(res.Failed), ", "))
	}
	return nil
}

// reportProblems writes each problem on its own line and returns the
// command's error.
func reportProblems(w io.Writer, pl *problemList) error {
	for i, p := range pl.List {
		if i == maxShownProblems {
			fmt.Fprintf(w, "… and %d more\n", len(pl.List)-i)
			break
		}
		fmt.Fprintln(w, escapeCell(p.format(pl.File)))
	}
	n := "1 problem"
	switch {
	case len(pl.List) >= maxProblems:
		n = fmt.Sprintf("%d problems or more", maxProblems)
	case len(pl.List) != 1:
		n = fmt.Sprintf("%d problems", len(pl.List))
	}
	return fmt.Errorf("%s: %s; nothing was applied", pl.File, n)
}

// maxShownProblems is how many problems apply prints.
const maxShownProblems = 100

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = jsonText(v)
	}
	return out
}

// applyResult is the answer of `apply --output json`.
type applyResult struct {
	DryRun  bool           `json:"dry_run"`
	Applied bool           `json:"applied"`
	Changes []*planEntry   `json:"changes"`
	Summary map[string]int `json:"summary"`
	Failed  []string       `json:"failed_projects,omitempty"`
}

func printApplyJSON(w io.Writer, res applyResult) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return printJSON(w, b)
}

// applyRun writes a plan through the admin API, one project at a time.
type applyRun struct {
	c      *client
	pol    *policy
	stderr io.Writer
	done   map[string]int // writes made (and kept) by action
}

// undoFunc reverses one write.
type undoFunc struct {
	what string
	do   func() error
}

// project applies one project's plan: all or nothing. When a write is
// refused, it undoes the project's earlier writes, newest first, reports
// and returns false.
func (r *applyRun) project(pp *projectPlan) bool {
	if r.done == nil {
		r.done = map[string]int{}
	}
	var undo []undoFunc
	done := map[string]int{}
	id := pp.self.ID
	for _, e := range writeOrder(pp) {
		u, err := r.write(e, &id)
		if err != nil {
			r.reportWrite(e, err)
			r.rollback(pp, undo)
			return false
		}
		done[e.Action]++
		if u.do != nil {
			undo = append(undo, u)
		}
	}
	for k, v := range done {
		r.done[k] += v
	}
	return true
}

// writeOrder is the order of a project's writes: the project; the
// classifications it creates or changes (routes may name them); routes
// changed, created, then deleted; classifications deleted (no longer named
// by a route).
//
// Routes are deleted last so that a route the file replaces (its methods
// or path changed: a delete and a create) never leaves requests without a
// rule in between, when plaintext would be forwarded. Only the deletes
// needed to make room under the cap for the creates go first.
func writeOrder(pp *projectPlan) []*planEntry {
	var out []*planEntry
	pick := func(list []*planEntry, actions ...string) {
		for _, e := range list {
			for _, a := range actions {
				if e.Action == a {
					out = append(out, e)
				}
			}
		}
	}
	onServer, creates := 0, 0
	var deletes []*planEntry
	for _, e := range pp.routes {
		if e.srv != nil {
			onServer++
		}
		switch e.Action {
		case actCreate:
			creates++
		case actDelete:
			deletes = append(deletes, e)
		}
	}
	early := min(len(deletes), max(0, onServer+creates-keystore.MaxRoutes))
	pick([]*planEntry{pp.self}, actCreate, actUpdate, actDelete)
	pick(pp.classes, actCreate, actUpdate)
	out = append(out, deletes[:early]...)
	pick(pp.routes, actUpdate)
	pick(pp.routes, actCreate)
	out = append(out, deletes[early:]...)
	pick(pp.classes, actDelete)
	return out
}

// write makes one entry's write; *projectID is set when the project is
// created. It returns how to undo it (do nil: it cannot be undone).
func (r *applyRun) write(e *planEntry, projectID *string) (undoFunc, error) {
	base := "/admin/v1/projects/" + url.PathEscape(*projectID)
	what := e.Kind + " " + e.Name
	switch e.Kind {
	case kindProject:
		return r.writeProject(e, projectID)
	case kindClass:
		one := base + "/classifications/" + url.PathEscape(e.Name)
		switch e.Action {
		case actCreate:
			_, err := r.c.do("POST", base+"/classifications", classInput(e.file.(*policyClass).Class))
			return r.undo(what, "DELETE", one, nil), err
		case actUpdate:
			_, err := r.c.do("PUT", one, classInput(e.file.(*policyClass).Class))
			u := r.undo(what, "PUT", one, classInput(*e.srv.(*wire.Classification)))
			return r.unlessChanged(u, one, func(raw []byte) (bool, error) {
				var c wire.Classification
				err := json.Unmarshal(raw, &c)
				return err == nil && len(classDiff(&c, e.file.(*policyClass).Class)) == 0, err
			}), err
		case actDelete:
			_, err := r.c.do("DELETE", one, nil)
			return r.undo(what, "POST", base+"/classifications", classInput(*e.srv.(*wire.Classification))), err
		}
	case kindRoute:
		switch e.Action {
		case actCreate:
			raw, err := r.c.do("POST", base+"/routes", e.route.input())
			if err != nil {
				return undoFunc{}, err
			}
			var rt wire.Route
			if err := json.Unmarshal(raw, &rt); err != nil {
				return undoFunc{}, err
			}
			e.ID = rt.ID
			one := base + "/routes/" + url.PathEscape(rt.ID)
			return r.unlessChanged(r.undo(what, "DELETE", one, nil), one, r.sameRoute(e.route)), nil
		case actUpdate:
			one := base + "/routes/" + url.PathEscape(e.ID)
			_, err := r.c.do("PUT", one, e.route.input())
			u := r.undo(what, "PUT", one, routeSpecOf(*e.srv.(*wire.Route)).input())
			return r.unlessChanged(u, one, r.sameRoute(e.route)), err
		case actDelete:
			_, err := r.c.do("DELETE", base+"/routes/"+url.PathEscape(e.ID), nil)
			return r.undo(what+" (as a new route: its id changes)", "POST", base+"/routes", e.route.input()), err
		}
	}
	return undoFunc{}, fmt.Errorf("apply: no write for %s %s", e.Action, e.Kind)
}

// writeProject creates, changes or deletes the project itself.
func (r *applyRun) writeProject(e *planEntry, projectID *string) (undoFunc, error) {
	switch e.Action {
	case actCreate:
		raw, err := r.c.do("POST", "/admin/v1/projects", e.file.(*policyProject).Settings)
		if err != nil {
			return undoFunc{}, err
		}
		var p wire.Project
		if err := json.Unmarshal(raw, &p); err != nil {
			return undoFunc{}, err
		}
		*projectID, e.ID = p.ID, p.ID
		return r.undo("project "+e.Name+" (created)", "DELETE", "/admin/v1/projects/"+url.PathEscape(p.ID), nil), nil
	case actUpdate:
		in, old := changedSettings(e.file.(*policyProject).Settings, *e.srv.(*wire.Project))
		one := "/admin/v1/projects/" + url.PathEscape(*projectID)
		_, err := r.c.do("PATCH", one, in)
		return r.undo("project "+e.Name+" settings", "PATCH", one, old), err
	case actDelete:
		// The plan checked that no active key uses the project, but a key
		// may have been created since: check again right before the delete,
		// which takes the project's data keys with it. (The admin API's
		// delete has no such condition, so a key created between this
		// check and the delete is not seen.)
		if err := r.noActiveKeys(e); err != nil {
			return undoFunc{}, err
		}
		_, err := r.c.do("DELETE", "/admin/v1/projects/"+url.PathEscape(e.ID), nil)
		return undoFunc{}, err
	}
	return undoFunc{}, fmt.Errorf("apply: no write for %s project", e.Action)
}

// noActiveKeys fails when the project of e, which --prune deletes, has
// active API keys now.
func (r *applyRun) noActiveKeys(e *planEntry) error {
	keys, err := clientState{r.c}.activeKeys(e.ID)
	if err != nil {
		return fmt.Errorf("keys of project %s: %w", jsonText(e.Name), err)
	}
	var by []string
	for _, k := range keys {
		if k.Status == "active" {
			by = append(by, k.ID)
		}
	}
	if len(by) > 0 {
		return fmt.Errorf("not deleted: active keys %s were created for it after the plan was made; revoke them first (or delete it with sdproxy project delete)", strings.Join(by, ", "))
	}
	return nil
}

// changedSettings returns the settings of in that differ from p's, and
// p's values of them (to undo the change).
func changedSettings(in wire.ProjectInput, p wire.Project) (changed, old wire.ProjectInput) {
	if v := in.Upstream; v != nil && *v != p.Upstream {
		changed.Upstream, old.Upstream = v, &p.Upstream
	}
	if v := in.Destinations; v != nil && !slices.Equal(*v, p.Destinations) {
		d := nonNilStrings(p.Destinations)
		changed.Destinations, old.Destinations = v, &d
	}
	if v := in.RateLimit; v != nil && *v != p.RateLimit {
		changed.RateLimit, old.RateLimit = v, &p.RateLimit
	}
	if v := in.MaxActiveKeys; v != nil && *v != p.MaxActiveKeys {
		changed.MaxActiveKeys, old.MaxActiveKeys = v, &p.MaxActiveKeys
	}
	if v := in.BindFields; v != nil && *v != p.BindFields {
		changed.BindFields, old.BindFields = v, &p.BindFields
	}
	if v := in.UpstreamCA; v != nil && *v != p.UpstreamCA {
		changed.UpstreamCA, old.UpstreamCA = v, &p.UpstreamCA
	}
	// The old client key cannot be put back (it is never read): an undo
	// leaves the new certificate in place.
	if clientCertChange(in, p) {
		changed.UpstreamClientCert, changed.UpstreamClientKey = in.UpstreamClientCert, in.UpstreamClientKey
	}
	return changed, old
}

// undo returns an undoFunc that calls method path with body.
func (r *applyRun) undo(what, method, path string, body any) undoFunc {
	return undoFunc{what: what, do: func() error {
		_, err := r.c.do(method, path, body)
		return err
	}}
}

// unlessChanged makes u do nothing, and fail, when the object at path is
// no longer what this run wrote (same reports whether raw, its GET, is):
// another client changed it since, and putting back what this run found
// would silently undo that later change (a field another client made a
// route encrypt, say). There is no lock; this narrows, not closes, the
// window.
func (r *applyRun) unlessChanged(u undoFunc, path string, same func(raw []byte) (bool, error)) undoFunc {
	do := u.do
	u.do = func() error {
		raw, err := r.c.do("GET", path, nil)
		if err != nil {
			return err
		}
		ok, err := same(raw)
		switch {
		case err != nil:
			return err
		case !ok:
			return errors.New("another client changed it after this run did; left as that client made it")
		}
		return do()
	}
	return u
}

// sameRoute reports whether a route's GET is spec.
func (r *applyRun) sameRoute(spec routeSpec) func(raw []byte) (bool, error) {
	return func(raw []byte) (bool, error) {
		var rt wire.Route
		err := json.Unmarshal(raw, &rt)
		return err == nil && len(routeDiff(routeSpecOf(rt), spec)) == 0, err
	}
}

// rollback undoes a project's writes, newest first, and says how it went.
func (r *applyRun) rollback(pp *projectPlan, undo []undoFunc) {
	name := jsonText(pp.self.Name)
	if len(undo) == 0 {
		fmt.Fprintln(r.stderr, escapeCell(fmt.Sprintf("project %s: nothing of it was changed", name)))
		return
	}
	failed := 0
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i].do(); err != nil {
			failed++
			fmt.Fprintln(r.stderr, escapeCell(fmt.Sprintf("project %s: could not undo the change of %s: %v", name, undo[i].what, err)))
		}
	}
	msg := fmt.Sprintf("project %s: undid the %d earlier changes of this run", name, len(undo))
	if failed > 0 {
		msg = fmt.Sprintf("project %s: undid %d of the %d earlier changes of this run; check it with sdproxy export", name, len(undo)-failed, len(undo))
	}
	fmt.Fprintln(r.stderr, escapeCell(msg))
}

// serverFieldRE matches the field an admin API message starts with
// ("request.fields[1]: …").
var serverFieldRE = regexp.MustCompile(`^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): `)

// reportWrite writes why the server refused an entry's write: at the file
// line of the field the server names, or of the object, when the object
// is in the file.
func (r *applyRun) reportWrite(e *planEntry, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		fmt.Fprintln(r.stderr, escapeCell(fmt.Sprintf("project %s: %s %s %s: %v", jsonText(e.Project), e.Action, e.Kind, e.Name, err)))
		return
	}
	msg := fmt.Sprintf("%s (refused by the server: %s, HTTP %d, request %s)", ae.Message, ae.Code, ae.Status, ae.RequestID)
	if e.field == "" {
		fmt.Fprintln(r.stderr, escapeCell(fmt.Sprintf("project %s: %s %s %s: %s", jsonText(e.Project), e.Action, e.Kind, e.Name, msg)))
		return
	}
	field := e.field
	if m := serverFieldRE.FindStringSubmatch(ae.Message); m != nil {
		field, msg = e.field+"."+m[1], strings.TrimPrefix(msg, m[0])
	}
	p := fileProblem{Line: r.pol.line(field), Field: field, Msg: msg}
	fmt.Fprintln(r.stderr, escapeCell(p.format(r.pol.File)))
}
