package admin

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// EventLog is what the admin API needs of the event log.
type EventLog interface {
	Record(events.Event)
	Query(events.Filter) ([]events.Event, string, error)
	VerifyWith(events.VerifyOptions) (events.VerifyResult, error)
}

// record adds an admin change to the event log.
func (a *Admin) record(typ, project, keyID string, details map[string]string) {
	if a.events == nil {
		return
	}
	e := events.Event{Type: typ, Time: a.now().UTC(), ProjectID: project, Actor: "admin", Details: details}
	if keyID != "" {
		e.KeyID = &keyID
	}
	a.events.Record(e)
}

// listEvents is GET /admin/v1/projects/{id}/events. With MergeEvents it
// merges the logs of every live instance (listMerged, or listFollow for
// after=<follow cursor>), unless asked for this instance's alone (local=1)
// or for events after one of its events (after=evt_<seq>).
func (a *Admin) listEvents(ctx *fasthttp.RequestCtx, project string) error {
	if a.events == nil {
		httpapi.WriteJSON(ctx, 200, wire.Page[wire.Event]{Items: []wire.Event{}})
		return nil
	}
	f, err := eventFilter(ctx.QueryArgs(), project)
	if err != nil {
		return err
	}
	q := ctx.QueryArgs()
	if a.mergeEvents && a.members != nil && string(q.Peek("local")) != "1" {
		switch {
		case f.After == "":
			return a.listMerged(ctx, f)
		case isFollowCursor(f.After):
			return a.listFollow(ctx, f)
		}
	}
	list, next, err := a.queryLocal(f)
	if err != nil {
		return err
	}
	out := wire.Page[wire.Event]{Items: list}
	if next != "" {
		out.NextCursor = &next
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}

// eventFilter reads the event list's query parameters.
func eventFilter(q *fasthttp.Args, project string) (events.Filter, error) {
	f := events.Filter{
		ProjectID: project, KeyID: string(q.Peek("key_id")), Type: string(q.Peek("type")),
		Cursor: string(q.Peek("cursor")), After: string(q.Peek("after")), Limit: defaultPageSize,
	}
	if s := q.Peek("limit"); len(s) > 0 {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 1 || n > maxPageSize {
			return f, httpapi.BadRequest("limit: want a whole number from 1 to " + strconv.Itoa(maxPageSize))
		}
		f.Limit = n
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if s := q.Peek(name); len(s) > 0 {
			t, err := time.Parse(time.RFC3339Nano, string(s))
			if err != nil {
				return f, httpapi.BadRequest(name + ": want an RFC 3339 time such as 2026-11-25T00:00:00Z")
			}
			*dst = t
		}
	}
	return f, nil
}

// queryLocal is one page of this instance's log, as wire events.
func (a *Admin) queryLocal(f events.Filter) ([]wire.Event, string, error) {
	list, next, err := a.events.Query(f)
	if errors.Is(err, events.ErrBadCursor) {
		return nil, "", httpapi.BadRequest("cursor or after: not a value this API gave out")
	}
	if errors.Is(err, events.ErrChanged) {
		return nil, "", &httpapi.Error{Status: 409, Code: "event_log_changed",
			Message: "an event of this page was changed in the file (HMAC mismatch): " + err.Error()}
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]wire.Event, len(list))
	for i, e := range list {
		out[i] = eventView(e)
	}
	return out, next, nil
}

// verifyEvents is GET /admin/v1/events/verify: 200 when the chain is
// intact, 409 naming the first broken entry otherwise.
func (a *Admin) verifyEvents(ctx *fasthttp.RequestCtx) error {
	if a.events == nil {
		return httpapi.ErrNotFound
	}
	var o events.VerifyOptions
	q := ctx.QueryArgs()
	if string(q.Peek("all")) == "1" {
		if q.Has("min_seq") || q.Has("checkpoint") {
			return httpapi.BadRequest("all: min_seq and checkpoint are one instance's evidence; verify that instance alone")
		}
		return a.verifyAll(ctx)
	}
	if s := q.Peek("min_seq"); len(s) > 0 {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return httpapi.BadRequest("min_seq: want a whole number")
		}
		o.MinSeq = n
	}
	if s := q.Peek("checkpoint"); len(s) > 0 {
		cp, err := events.ParseCheckpoint(s)
		if err != nil {
			return httpapi.BadRequest("checkpoint: want a checkpoint line as the event log wrote it to its sink or log")
		}
		o.Checkpoint = &cp
	}
	res, err := a.events.VerifyWith(o)
	if errors.Is(err, events.ErrBadCheckpoint) {
		return httpapi.BadRequest("checkpoint: its signature does not verify (forged or altered)")
	}
	if err != nil {
		return err
	}
	status := 200
	if !res.OK {
		status = 409
	}
	httpapi.WriteJSON(ctx, status, VerifyView(res))
	return nil
}
