package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// Field diffs between the file and the server, and the plan as people
// read it.

// fieldChange is one line of a diff: field: old → new. Values are JSON;
// Old is empty for an object to create.
type fieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new"`
}

// projectDiff lists the settings in that differ from p's; only settings
// the file gives count. With creating, every setting given is listed.
func projectDiff(p wire.Project, in wire.ProjectInput, creating bool) []fieldChange {
	return projectDiffKey(p, in, creating, "")
}

// projectDiffKey is projectDiff naming the file a client key comes from.
// Certificates show as their subjects and fingerprints; the key never
// shows.
func projectDiffKey(p wire.Project, in wire.ProjectInput, creating bool, keyFile string) []fieldChange {
	var out []fieldChange
	add := func(field string, old, new any, differ bool) {
		if creating {
			out = append(out, fieldChange{Field: field, New: jsonText(new)})
		} else if differ {
			out = append(out, fieldChange{Field: field, Old: jsonText(old), New: jsonText(new)})
		}
	}
	if v := in.Environment; v != nil {
		add("environment", p.Environment, *v, *v != p.Environment)
	}
	if v := in.Upstream; v != nil {
		add("upstream", p.Upstream, *v, *v != p.Upstream)
	}
	if v := in.Destinations; v != nil {
		add("destinations", nonNilStrings(p.Destinations), *v, !slices.Equal(*v, p.Destinations))
	}
	if v := in.RateLimit; v != nil {
		add("rate_limit.requests_per_second", p.RateLimit.RequestsPerSecond, v.RequestsPerSecond, v.RequestsPerSecond != p.RateLimit.RequestsPerSecond)
		add("rate_limit.burst", p.RateLimit.Burst, v.Burst, v.Burst != p.RateLimit.Burst)
	}
	if v := in.MaxActiveKeys; v != nil {
		add("max_active_keys", p.MaxActiveKeys, *v, *v != p.MaxActiveKeys)
	}
	if v := in.BindFields; v != nil {
		add("bind_fields", p.BindFields, *v, *v != p.BindFields)
	}
	if v := in.UpstreamCA; v != nil {
		add("upstream_ca", pemSummary(p.UpstreamCA), pemSummary(*v), *v != p.UpstreamCA)
	}
	if v := in.UpstreamClientCert; v != nil {
		differ := clientCertChange(in, p)
		add("upstream_client_cert", pemSummary(p.UpstreamClientCert), pemSummary(*v), differ)
		if k := in.UpstreamClientKey; k != nil && (differ || creating) {
			add("upstream_client_key", keyState(p.UpstreamClientKeySet, ""), keyState(*k != "", keyFile), true)
		}
	}
	return out
}

// classDiff lists what differs between old (nil: none) and new.
func classDiff(old *wire.Classification, new wire.Classification) []fieldChange {
	type pair struct {
		field    string
		old, new any
	}
	var o wire.Classification
	if old != nil {
		o = *old
	}
	var out []fieldChange
	for _, p := range []pair{
		{"name", o.Name, new.Name}, {"description", o.Description, new.Description},
		{"mask.show_first", o.Mask.ShowFirst, new.Mask.ShowFirst}, {"mask.show_last", o.Mask.ShowLast, new.Mask.ShowLast},
		{"mask.char", o.Mask.Char, new.Mask.Char},
	} {
		switch {
		case old == nil:
			out = append(out, fieldChange{Field: p.field, New: jsonText(p.new)})
		case p.old != p.new:
			out = append(out, fieldChange{Field: p.field, Old: jsonText(p.old), New: jsonText(p.new)})
		}
	}
	return out
}

// routeDiff lists what differs between old and new routes of the same
// path and methods (old zero: a route to create, every part listed).
func routeDiff(old, new routeSpec) []fieldChange {
	creating := old.Path == ""
	var out []fieldChange
	if creating || old.Order != new.Order {
		out = append(out, change("order", old.Order, new.Order, creating))
	}
	switch o, n := old.Request, new.Request; {
	case creating && n == nil:
	case o == nil || n == nil:
		if o != n {
			out = append(out, change("request", ruleValue(o), ruleValue(n), creating))
		}
	default:
		out = appendIf(out, "request.mode", o.Mode, n.Mode)
		out = appendIfList(out, "request.fields", o.Fields, n.Fields)
		out = appendIf(out, "request.classification", o.Classification, n.Classification)
		out = appendIfList(out, "request.require", o.Require, n.Require)
		out = appendIfList(out, "request.index", indexStrings(o.Index), indexStrings(n.Index))
		out = appendIf(out, "request.subject_field", o.SubjectField, n.SubjectField)
	}
	switch o, n := old.Response, new.Response; {
	case creating && n == nil:
	case o == nil || n == nil:
		if o != n {
			out = append(out, change("response", ruleValue(o), ruleValue(n), creating))
		}
	default:
		out = appendIf(out, "response.mode", o.Mode, n.Mode)
		out = appendIfList(out, "response.fields", o.Fields, n.Fields)
	}
	return out
}

func change(field string, old, new any, creating bool) fieldChange {
	if creating {
		return fieldChange{Field: field, New: jsonText(new)}
	}
	return fieldChange{Field: field, Old: jsonText(old), New: jsonText(new)}
}

func appendIf(out []fieldChange, field, old, new string) []fieldChange {
	if old != new {
		out = append(out, fieldChange{Field: field, Old: jsonText(old), New: jsonText(new)})
	}
	return out
}

func appendIfList(out []fieldChange, field string, old, new []string) []fieldChange {
	if !slices.Equal(old, new) {
		out = append(out, fieldChange{Field: field, Old: jsonText(nonNilStrings(old)), New: jsonText(nonNilStrings(new))})
	}
	return out
}

// ruleValue is a rule as a diff shows it: null for none.
func ruleValue[T any](r *T) any {
	if r == nil {
		return nil
	}
	return r
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonText is v as compact JSON, with <, > and & as they are.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// printPlan writes the plan for people: one line per object, its field
// changes below it, and a summary. Every line goes through escapeCell.
func printPlan(w io.Writer, p *applyPlan) error {
	var b strings.Builder
	for _, pp := range p.projects {
		writeEntry(&b, pp.self, "")
		for _, e := range append(slices.Clone(pp.classes), pp.routes...) {
			writeEntry(&b, e, "  ")
		}
	}
	c := p.counts()
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, %d to delete, %d unchanged", c[actCreate], c[actUpdate], c[actDelete], c[actUnchanged])
	if c[actKeep] > 0 {
		fmt.Fprintf(&b, ", %d not in the file (kept; --prune deletes)", c[actKeep])
	}
	b.WriteString(".\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var actionMark = map[string]string{actCreate: "+", actUpdate: "~", actUnchanged: "=", actDelete: "-", actKeep: "!"}

func writeEntry(b *strings.Builder, e *planEntry, indent string) {
	name := e.Name
	if e.Kind == kindProject {
		name = jsonText(e.Name)
	}
	line := indent + actionMark[e.Action] + " " + e.Kind + " " + name
	if e.ID != "" {
		line += " (" + e.ID + ")"
	}
	action := e.Action
	if action == actKeep {
		action = "not in the file (kept; --prune deletes)"
	}
	b.WriteString(escapeCell(line+": "+action) + "\n")
	for _, c := range e.Changes {
		s := indent + "      " + c.Field + ": "
		if c.Old != "" {
			s += c.Old + " → "
		}
		b.WriteString(escapeCell(s+c.New) + "\n")
	}
}
