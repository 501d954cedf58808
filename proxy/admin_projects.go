package proxy

import (
	"github.com/valyala/fasthttp"

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
	writeJSON(ctx, 200, p)
	return nil
}

func (a *Admin) deleteProject(ctx *fasthttp.RequestCtx, id string) error {
	if err := a.store.DeleteProject(id); err != nil {
		return err
	}
	ctx.SetStatusCode(204)
	return nil
}
