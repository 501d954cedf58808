package proxy

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

func (a *Admin) listProjects(ctx *fasthttp.RequestCtx) error {
	all, err := a.store.Projects()
	if err != nil {
		return err
	}
	return writePage(ctx, all, func(p keystore.Project) sortKey { return sortKey{p.CreatedAt, p.ID} }, func(p keystore.Project) any { return p })
}

func (a *Admin) createProject(ctx *fasthttp.RequestCtx) error {
	var in keystore.ProjectInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	p, err := a.store.CreateProject(in)
	if err != nil {
		return err
	}
	a.record(events.TypeProjectCreated, p.ID, "", map[string]string{"name": p.Name})
	writeJSON(ctx, 201, p)
	return nil
}

func (a *Admin) getProject(ctx *fasthttp.RequestCtx, id string) error {
	p, err := a.store.Project(id)
	if err != nil {
		return err
	}
	writeJSON(ctx, 200, p)
	return nil
}

func (a *Admin) updateProject(ctx *fasthttp.RequestCtx, id string) error {
	var in keystore.ProjectInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	p, err := a.store.UpdateProject(id, in)
	if err != nil {
		return err
	}
	a.record(events.TypeProjectUpdated, p.ID, "", map[string]string{"changed": changedFields(in)})
	writeJSON(ctx, 200, p)
	return nil
}

func (a *Admin) deleteProject(ctx *fasthttp.RequestCtx, id string) error {
	if err := a.store.DeleteProject(id); err != nil {
		return err
	}
	a.record(events.TypeProjectDeleted, id, "", nil)
	ctx.SetStatusCode(204)
	return nil
}

// changedFields names the fields a PATCH sent.
func changedFields(in keystore.ProjectInput) string {
	var names []string
	for name, set := range map[string]bool{
		"name": in.Name != nil, "environment": in.Environment != nil, "upstream": in.Upstream != nil,
		"destinations": in.Destinations != nil, "rate_limit": in.RateLimit != nil, "max_active_keys": in.MaxActiveKeys != nil,
	} {
		if set {
			names = append(names, name)
		}
	}
	return strings.Join(sortStrings(names), ",")
}
