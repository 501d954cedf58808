package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// The server's state as apply reads it through the admin API, and the
// shapes apply compares and writes.

// defaultMask is the mask of a classification created without one.
func defaultMask() wire.Mask { return wire.Mask{ShowFirst: 0, ShowLast: 4, Char: "*"} }

// classInput is the body of a classification create or replace: the whole
// classification.
func classInput(c wire.Classification) wire.ClassificationInput {
	return wire.ClassificationInput{Slug: c.Slug, Name: c.Name, Description: c.Description,
		Mask: &wire.MaskInput{ShowFirst: &c.Mask.ShowFirst, ShowLast: &c.Mask.ShowLast, Char: &c.Mask.Char}}
}

// routeSpec is a route as apply compares and writes it: what the routes
// API's PUT takes, in the canonical spelling the server stores. Request
// and Response nil mean no rule; Methods empty means any.
type routeSpec struct {
	Methods  []string
	Path     string
	Order    int
	Request  *wire.RequestRule
	Response *wire.ResponseRule
}

func routeSpecOf(r wire.Route) routeSpec {
	return routeSpec{Methods: r.Methods, Path: r.Path, Order: r.Order, Request: r.Request, Response: r.Response}
}

// key identifies a route within its project: sorted methods and path (a
// method never holds a space or a comma).
func (s routeSpec) key() string {
	m := slices.Clone(s.Methods)
	slices.Sort(m)
	return strings.Join(m, ",") + " " + s.Path
}

// label is how the plan names a route: "POST,PUT /posts/**", "any /x".
func (s routeSpec) label() string {
	if len(s.Methods) == 0 {
		return "any " + s.Path
	}
	m := slices.Clone(s.Methods)
	slices.Sort(m)
	return strings.Join(m, ",") + " " + s.Path
}

// input is the body of a route create or replace.
func (s routeSpec) input() wire.RouteInput {
	in := wire.RouteInput{Methods: s.Methods, Path: s.Path, Order: s.Order}
	if r := s.Request; r != nil {
		in.Request = &wire.RuleInput{Mode: r.Mode, Fields: r.Fields, Classification: r.Classification, Require: r.Require, Index: r.Index, SubjectField: r.SubjectField}
	}
	if r := s.Response; r != nil {
		in.Response = &wire.RuleInput{Mode: r.Mode, Fields: r.Fields}
	}
	return in
}

// serverProject is what the server holds of one project.
type serverProject struct {
	Project wire.Project
	Routes  []wire.Route          // in evaluation order
	Classes []wire.Classification // the built-in "none" left out
	// NoClassAPI: the server has no classifications API (it answered 404).
	NoClassAPI bool
}

// stateReader reads the server's state through the admin API.
type stateReader interface {
	projects() ([]wire.Project, error)
	project(p wire.Project) (*serverProject, error)
	activeKeys(projectID string) ([]wire.Key, error)
}

// clientState is a stateReader over the admin API.
type clientState struct{ c *client }

func (s clientState) projects() ([]wire.Project, error) {
	return getAllAs[wire.Project](s.c, "/admin/v1/projects")
}

func (s clientState) project(p wire.Project) (*serverProject, error) {
	base := "/admin/v1/projects/" + url.PathEscape(p.ID)
	sp := &serverProject{Project: p}
	var err error
	if sp.Routes, err = getAllAs[wire.Route](s.c, base+"/routes"); err != nil {
		return nil, fmt.Errorf("routes of project %q: %w", p.Name, err)
	}
	classes, err := getAllAs[wire.Classification](s.c, base+"/classifications")
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == 404 && ae.Code == "not_found":
		sp.NoClassAPI = true
	case err != nil:
		return nil, fmt.Errorf("classifications of project %q: %w", p.Name, err)
	}
	for _, c := range classes {
		if !c.Builtin && c.Slug != keystore.NoClassification {
			sp.Classes = append(sp.Classes, c)
		}
	}
	return sp, nil
}

func (s clientState) activeKeys(projectID string) ([]wire.Key, error) {
	return getAllAs[wire.Key](s.c, "/admin/v1/projects/"+url.PathEscape(projectID)+"/keys?status=active")
}

// getAllAs returns every item of a list, decoded.
func getAllAs[T any](c *client, path string) ([]T, error) {
	raw, err := c.getAll(path)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
	}
	return out, nil
}
