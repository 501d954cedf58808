package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// SubjectStore is what the subject calls need of the store.
type SubjectStore interface {
	Subject(projectID string, subject []byte) (keystore.SubjectInfo, error)
	EraseSubject(projectID string, subject []byte) (keystore.SubjectInfo, bool, error)
}

// routeSubjects serves GET and DELETE …/projects/{id}/subjects/{subject}.
// The subject is the rest of the path as sent, each segment
// percent-decoded (see pathSegments): an id holding "/" works sent as %2F
// or as is.
func (a *Admin) routeSubjects(ctx *fasthttp.RequestCtx, m, project, subject string) error {
	ss, ok := a.store.(SubjectStore)
	if !ok {
		return httpapi.ErrNotFound
	}
	if subject == "" {
		return httpapi.BadRequest("subject: must be a percent-encoded path segment")
	}
	return dispatch(ctx, m, map[string]func() error{
		"GET":    func() error { return a.getSubject(ctx, ss, project, subject) },
		"DELETE": func() error { return a.eraseSubject(ctx, ss, project, subject) },
	})
}

func (a *Admin) getSubject(ctx *fasthttp.RequestCtx, ss SubjectStore, project, subject string) error {
	info, err := ss.Subject(project, []byte(subject))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(ctx, 200, subjectView(info))
	return nil
}

// eraseSubject destroys the subject's secret and records subject.erased
// with the subject's reference, never its id.
func (a *Admin) eraseSubject(ctx *fasthttp.RequestCtx, ss SubjectStore, project, subject string) error {
	info, erased, err := ss.EraseSubject(project, []byte(subject))
	if err != nil {
		return err
	}
	if erased {
		a.record(events.TypeSubjectErased, project, "", map[string]string{"subject": info.Ref})
	}
	v := subjectView(info)
	v.Erased = &erased
	httpapi.WriteJSON(ctx, 200, v)
	return nil
}

func subjectView(s keystore.SubjectInfo) wire.Subject {
	return wire.Subject{
		ProjectID: s.ProjectID, Ref: s.Ref, State: string(s.State),
		CreatedAt: s.CreatedAt, ErasedAt: s.ErasedAt, SealedValues: s.Sealed,
	}
}
