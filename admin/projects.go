package admin

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

func (a *Admin) listProjects(ctx *fasthttp.RequestCtx) error {
	all, err := a.store.Projects()
	if err != nil {
		return err
	}
	return writePage(ctx, all, func(p keystore.Project) sortKey { return sortKey{p.CreatedAt, p.ID} }, projectView)
}

func (a *Admin) createProject(ctx *fasthttp.RequestCtx) error {
	var in wire.ProjectInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	p, err := a.store.CreateProject(projectInput(in))
	if err != nil {
		return err
	}
	a.record(events.TypeProjectCreated, p.ID, "", map[string]string{"name": p.Name})
	httpapi.WriteJSON(ctx, 201, projectView(p))
	return nil
}

func (a *Admin) getProject(ctx *fasthttp.RequestCtx, id string) error {
	p, err := a.store.Project(id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(ctx, 200, projectView(p))
	return nil
}

func (a *Admin) updateProject(ctx *fasthttp.RequestCtx, id string) error {
	var in wire.ProjectInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	p, err := a.store.UpdateProject(id, projectInput(in))
	if err != nil {
		return err
	}
	a.record(events.TypeProjectUpdated, p.ID, "", map[string]string{"changed": changedFields(in)})
	httpapi.WriteJSON(ctx, 200, projectView(p))
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
func changedFields(in wire.ProjectInput) string {
	var names []string
	for name, set := range map[string]bool{
		"name": in.Name != nil, "environment": in.Environment != nil, "upstream": in.Upstream != nil,
		"destinations": in.Destinations != nil, "rate_limit": in.RateLimit != nil, "max_active_keys": in.MaxActiveKeys != nil,
		"bind_fields": in.BindFields != nil, "upstream_ca": in.UpstreamCA != nil,
		"upstream_client_cert": in.UpstreamClientCert != nil, "upstream_client_key": in.UpstreamClientKey != nil,
	} {
		if set {
			names = append(names, name)
		}
	}
	return strings.Join(sortStrings(names), ",")
}
