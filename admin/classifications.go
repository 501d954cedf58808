package admin

import (
	"encoding/base64"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// routeClassifications dispatches …/projects/{id}/classifications[/{slug}].
func (a *Admin) routeClassifications(ctx *fasthttp.RequestCtx, m, project string, seg []string) error {
	switch len(seg) {
	case 0:
		return dispatch(ctx, m, map[string]func() error{
			"GET":  func() error { return a.listClassifications(ctx, project) },
			"POST": func() error { return a.createClassification(ctx, project) },
		})
	case 1:
		return dispatch(ctx, m, map[string]func() error{
			"GET":    func() error { return a.getClassification(ctx, project, seg[0]) },
			"PUT":    func() error { return a.replaceClassification(ctx, project, seg[0]) },
			"DELETE": func() error { return a.deleteClassification(ctx, project, seg[0]) },
		})
	}
	return httpapi.ErrNotFound
}

// listClassifications answers the project's classifications by slug, the
// built-in "none" included.
func (a *Admin) listClassifications(ctx *fasthttp.RequestCtx, project string) error {
	list, err := a.store.Classifications(project)
	if err != nil {
		return err
	}
	return writePageBy(ctx, list, classPlace, parseClassCursor, classificationView)
}

func (a *Admin) createClassification(ctx *fasthttp.RequestCtx, project string) error {
	var in wire.ClassificationInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	c, err := a.store.CreateClassification(project, classificationInput(in))
	if err != nil {
		return err
	}
	a.recordClassification(events.TypeClassificationCreated, c)
	httpapi.WriteJSON(ctx, 201, classificationView(c))
	return nil
}

func (a *Admin) getClassification(ctx *fasthttp.RequestCtx, project, slug string) error {
	c, err := a.store.Classification(project, slug)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(ctx, 200, classificationView(c))
	return nil
}

// replaceClassification is PUT: the body is the whole new classification
// (its slug, if given, must be the path's).
func (a *Admin) replaceClassification(ctx *fasthttp.RequestCtx, project, slug string) error {
	var in wire.ClassificationInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	c, err := a.store.UpdateClassification(project, slug, classificationInput(in))
	if err != nil {
		return err
	}
	a.recordClassification(events.TypeClassificationUpdated, c)
	httpapi.WriteJSON(ctx, 200, classificationView(c))
	return nil
}

func (a *Admin) deleteClassification(ctx *fasthttp.RequestCtx, project, slug string) error {
	c, err := a.store.DeleteClassification(project, slug)
	if err != nil {
		return err
	}
	a.recordClassification(events.TypeClassificationDeleted, c)
	ctx.SetStatusCode(204)
	return nil
}

func (a *Admin) recordClassification(typ string, c keystore.Classification) {
	a.record(typ, c.ProjectID, "", map[string]string{"slug": c.Slug})
}

// classKey is a classification's place in a list: its slug.
type classKey string

func classPlace(c keystore.Classification) classKey { return classKey(c.Slug) }

func (k classKey) after(c classKey) bool { return k > c }

// cursor is "c|slug", base64url: the "c" keeps a cursor of another list
// from being read as one of classifications.
func (k classKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte("c|" + string(k)))
}

func parseClassCursor(s string) (classKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	slug, ok := strings.CutPrefix(string(b), "c|")
	return classKey(slug), ok
}
