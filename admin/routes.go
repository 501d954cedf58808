package admin

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// routeRoutes dispatches …/projects/{id}/routes[/{route-id}].
func (a *Admin) routeRoutes(ctx *fasthttp.RequestCtx, m, project string, seg []string) error {
	switch len(seg) {
	case 0:
		return dispatch(ctx, m, map[string]func() error{
			"GET":  func() error { return a.listRoutes(ctx, project) },
			"POST": func() error { return a.createRoute(ctx, project) },
		})
	case 1:
		return dispatch(ctx, m, map[string]func() error{
			"GET":    func() error { return a.getRoute(ctx, project, seg[0]) },
			"PUT":    func() error { return a.replaceRoute(ctx, project, seg[0]) },
			"DELETE": func() error { return a.deleteRoute(ctx, project, seg[0]) },
		})
	}
	return httpapi.ErrNotFound
}

func (a *Admin) listRoutes(ctx *fasthttp.RequestCtx, project string) error {
	list, err := a.store.Routes(project)
	if err != nil {
		return err
	}
	return writePageBy(ctx, list, routePlace, parseRouteCursor, routeView)
}

func (a *Admin) createRoute(ctx *fasthttp.RequestCtx, project string) error {
	var in wire.RouteInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	r, err := a.store.CreateRoute(project, routeInput(in))
	if err != nil {
		return err
	}
	a.recordRoute(events.TypeRouteCreated, r)
	httpapi.WriteJSON(ctx, 201, routeView(r))
	return nil
}

func (a *Admin) getRoute(ctx *fasthttp.RequestCtx, project, id string) error {
	r, err := a.store.Route(project, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(ctx, 200, routeView(r))
	return nil
}

// replaceRoute is PUT: the body is the whole new route.
func (a *Admin) replaceRoute(ctx *fasthttp.RequestCtx, project, id string) error {
	var in wire.RouteInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	r, err := a.store.UpdateRoute(project, id, routeInput(in))
	if err != nil {
		return err
	}
	a.recordRoute(events.TypeRouteUpdated, r)
	httpapi.WriteJSON(ctx, 200, routeView(r))
	return nil
}

func (a *Admin) deleteRoute(ctx *fasthttp.RequestCtx, project, id string) error {
	r, err := a.store.DeleteRoute(project, id)
	if err != nil {
		return err
	}
	a.recordRoute(events.TypeRouteDeleted, r)
	ctx.SetStatusCode(204)
	return nil
}

func (a *Admin) recordRoute(typ string, r keystore.Route) {
	a.record(typ, r.ProjectID, "", map[string]string{"route_id": r.ID, "path": r.Path})
}

// routeKey is a route's place in evaluation order: order, creation, id.
type routeKey struct {
	order int
	at    time.Time
	id    string
}

func routePlace(r keystore.Route) routeKey { return routeKey{r.Order, r.CreatedAt, r.ID} }

func (k routeKey) after(c routeKey) bool {
	if k.order != c.order {
		return k.order > c.order
	}
	return sortKey{k.at, k.id}.after(sortKey{c.at, c.id})
}

// cursor is "r|order|unix nanoseconds|id", base64url: the "r" keeps a
// cursor of another list from being read as one of routes.
func (k routeKey) cursor() string {
	s := "r|" + strconv.Itoa(k.order) + "|" + strconv.FormatInt(k.at.UnixNano(), 10) + "|" + k.id
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parseRouteCursor(s string) (routeKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return routeKey{}, false
	}
	parts := strings.SplitN(string(b), "|", 4)
	if len(parts) != 4 || parts[0] != "r" {
		return routeKey{}, false
	}
	order, err1 := strconv.Atoi(parts[1])
	ns, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return routeKey{}, false
	}
	return routeKey{order, time.Unix(0, ns), parts[3]}, true
}
