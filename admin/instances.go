package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// Members is what the admin API needs of the instance list.
type Members interface {
	// Self is the instance serving this API.
	Self() keystore.Instance
	// List returns the live instances, sorted by id.
	List() []keystore.Instance
}

// listInstances is GET /admin/v1/instances: every live instance, in one
// page.
func (a *Admin) listInstances(ctx *fasthttp.RequestCtx) error {
	out := wire.Page[wire.Instance]{Items: []wire.Instance{}}
	if a.members != nil {
		self := a.members.Self().ID
		for _, in := range a.members.List() {
			out.Items = append(out.Items, instanceView(in, self))
		}
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}

func instanceView(in keystore.Instance, self string) wire.Instance {
	return wire.Instance{
		ID: in.ID, DataAddress: in.DataAddr, AdminAddress: in.AdminURL, Version: in.Version,
		Started: in.Started.UTC(), Self: in.ID == self,
	}
}
