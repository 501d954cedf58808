package admin

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// A merged cursor is "m" and the base64url (unpadded) JSON of each
// instance's position in its own log: its local cursor, "" for its
// newest event, or cursorDone once its events are all listed. An instance
// named in the cursor but no longer live is skipped; one that joined
// after the first page is not in the cursor and is not listed.
const (
	mergedCursorPrefix = "m"
	cursorDone         = "-"
)

func encodeMergedCursor(pos map[string]string) string {
	b, _ := json.Marshal(pos)
	return mergedCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeMergedCursor(s string) (map[string]string, bool) {
	raw, ok := strings.CutPrefix(s, mergedCursorPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	var pos map[string]string
	if err != nil || json.Unmarshal(b, &pos) != nil || pos == nil {
		return nil, false
	}
	return pos, true
}

// instancePage is one instance's answer to a merged list.
type instancePage struct {
	in    keystore.Instance
	pos   string // where its page started
	items []wire.Event
	next  string
	err   error
}

// listMerged answers a page of the events of every live instance, newest
// first by (time, instance id, seq): each instance is asked for a page
// from its position, at once, for at most peerTimeout; the merged page
// takes the newest f.Limit, and its cursor records how far into each
// instance's log it went. Instances that did not answer are named in
// "unreachable" and asked again, from the same position, for the next page.
func (a *Admin) listMerged(ctx *fasthttp.RequestCtx, f events.Filter) error {
	live := a.members.List()
	pos := map[string]string{}
	var list []keystore.Instance
	if f.Cursor == "" {
		list = live
	} else {
		var ok bool
		if pos, ok = decodeMergedCursor(f.Cursor); !ok {
			return httpapi.BadRequest("cursor: not a value this API gave out")
		}
		for _, in := range live {
			if p, ok := pos[in.ID]; ok && p != cursorDone {
				list = append(list, in)
			}
		}
	}
	pages := make([]instancePage, len(list))
	a.eachInstance(list, func(i int, in keystore.Instance, self bool) {
		pg := instancePage{in: in, pos: pos[in.ID]}
		lf := f
		lf.Cursor = pg.pos
		if self {
			pg.items, pg.next, pg.err = a.queryLocal(lf)
		} else {
			pg.items, pg.next, pg.err = a.queryPeer(in, ctx.QueryArgs(), lf)
		}
		pages[i] = pg
	})
	out := mergePages(pages, f.Limit)
	if f.Cursor == "" {
		fc := firstFollowCursor(pages, a.now())
		out.FollowCursor = &fc
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}

// queryPeer asks another instance for one page of its own log.
func (a *Admin) queryPeer(in keystore.Instance, args *fasthttp.Args, f events.Filter) ([]wire.Event, string, error) {
	q := url.Values{}
	args.VisitAll(func(k, v []byte) { q.Set(string(k), string(v)) })
	q.Set("local", "1")
	q.Set("limit", strconv.Itoa(f.Limit))
	q.Del("cursor")
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	q.Del("after")
	if f.After != "" {
		q.Set("after", f.After)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	var pg wire.Page[wire.Event]
	if err := a.peerGet(in.AdminURL, "/admin/v1/projects/"+url.PathEscape(f.ProjectID)+"/events?"+q.Encode(), &pg, 200); err != nil {
		return nil, "", err
	}
	for i := range pg.Items {
		if pg.Items[i].InstanceID == "" {
			pg.Items[i].InstanceID = in.ID
		}
	}
	next := ""
	if pg.NextCursor != nil {
		next = *pg.NextCursor
	}
	return pg.Items, next, nil
}

// mergePages takes the newest limit events of the instances' pages and
// the cursor that goes on after them. Each page is in its instance's log
// order (newest written first), which is not always newest time first: a
// slow request is written after a later one that finished sooner. So the
// pages are merged by their heads, newest time first, and what is taken
// from a page is always a prefix of it: the cursor's position, the seq of
// the last event taken, then skips exactly what was listed.
func mergePages(pages []instancePage, limit int) wire.EventPage {
	out := wire.EventPage{Items: []wire.Event{}}
	for _, pg := range pages {
		if pg.err != nil {
			out.Unreachable = append(out.Unreachable, pg.in.ID)
		}
	}
	taken := make([]int, len(pages))
	newer := func(i, j int) bool { // page i's head before page j's
		x, y := pages[i].items[taken[i]], pages[j].items[taken[j]]
		if c := x.Time.Compare(y.Time); c != 0 {
			return c > 0
		}
		if c := strings.Compare(pages[i].in.ID, pages[j].in.ID); c != 0 {
			return c > 0
		}
		return eventSeq(x.ID) > eventSeq(y.ID)
	}
	for len(out.Items) < limit {
		best := -1
		for i, pg := range pages {
			if pg.err == nil && taken[i] < len(pg.items) && (best < 0 || newer(i, best)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out.Items = append(out.Items, pages[best].items[taken[best]])
		taken[best]++
	}
	pos := map[string]string{}
	more := false
	for i, pg := range pages {
		p := pg.pos
		switch {
		case pg.err != nil: // asked again from where it was
		case taken[i] == len(pg.items) && pg.next == "":
			p = cursorDone
		case taken[i] == len(pg.items):
			p, more = pg.next, true
		case taken[i] > 0:
			p, more = "c"+strconv.FormatUint(eventSeq(pg.items[taken[i]-1].ID), 10), true
		default:
			more = true
		}
		pos[pg.in.ID] = p
	}
	if more {
		next := encodeMergedCursor(pos)
		out.NextCursor = &next
	}
	return out
}

// eventSeq is the sequence number in an event id (evt_<seq>), or 0.
func eventSeq(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "evt_"), 10, 64)
	return n
}

// A follow cursor is "f" and the base64url (unpadded) JSON of
// followCursor: the time the follow began and, for each instance seen,
// the sequence number of its newest event listed. after=<follow cursor>
// answers each instance's events newer than its position; an instance not
// in the cursor (it did not answer, or joined later) is asked for its
// events since the follow began, by its own clock.
const followCursorPrefix = "f"

type followCursor struct {
	Start int64             `json:"s"` // unix nanoseconds
	Pos   map[string]uint64 `json:"p"` // instance id → newest seq listed
}

func encodeFollowCursor(c followCursor) string {
	b, _ := json.Marshal(c)
	return followCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeFollowCursor(s string) (followCursor, bool) {
	var c followCursor
	raw, ok := strings.CutPrefix(s, followCursorPrefix)
	if !ok {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Pos == nil || c.Start <= 0 {
		return c, false
	}
	return c, true
}

// isFollowCursor tells a follow cursor from an event id (evt_<seq>).
func isFollowCursor(after string) bool { return strings.HasPrefix(after, followCursorPrefix) }

// firstFollowCursor is the follow cursor of a merged first page: each
// instance that answered at its newest matching event (0 when it has
// none, so that its first one is listed), the others left out.
func firstFollowCursor(pages []instancePage, start time.Time) string {
	c := followCursor{Start: start.UnixNano(), Pos: map[string]uint64{}}
	for _, pg := range pages {
		if pg.err != nil {
			continue
		}
		c.Pos[pg.in.ID] = 0
		if len(pg.items) > 0 {
			c.Pos[pg.in.ID] = eventSeq(pg.items[0].ID)
		}
	}
	return encodeFollowCursor(c)
}

// listFollow answers after=<follow cursor>: every live instance's events
// newer than its position in the cursor, merged newest first like
// mergePages, at most f.Limit of them, and the next follow cursor.
func (a *Admin) listFollow(ctx *fasthttp.RequestCtx, f events.Filter) error {
	c, ok := decodeFollowCursor(f.After)
	if !ok {
		return httpapi.BadRequest("after: not a value this API gave out")
	}
	live := a.members.List()
	pages := make([]instancePage, len(live))
	a.eachInstance(live, func(i int, in keystore.Instance, self bool) {
		pg := instancePage{in: in}
		lf := f
		if seq, ok := c.Pos[in.ID]; ok {
			lf.After = "evt_" + strconv.FormatUint(seq, 10)
		} else {
			lf.After = "evt_0"
			if start := time.Unix(0, c.Start); lf.Since.Before(start) {
				lf.Since = start
			}
		}
		if self {
			pg.items, pg.next, pg.err = a.queryLocal(lf)
		} else {
			pg.items, pg.next, pg.err = a.queryPeer(in, ctx.QueryArgs(), lf)
		}
		pages[i] = pg
	})
	httpapi.WriteJSON(ctx, 200, mergeFollow(c, pages, f.Limit))
	return nil
}

// mergeFollow merges one follow poll's pages, newest first, keeps the
// newest limit, and moves each instance that answered to its newest
// event. Like after=<event id> on one log, a burst of more than limit
// events since the last poll lists its newest limit only.
func mergeFollow(c followCursor, pages []instancePage, limit int) wire.EventPage {
	out := mergePages(pages, limit)
	out.NextCursor = nil
	next := followCursor{Start: c.Start, Pos: maps.Clone(c.Pos)}
	for _, pg := range pages {
		if pg.err == nil && len(pg.items) > 0 {
			next.Pos[pg.in.ID] = max(next.Pos[pg.in.ID], eventSeq(pg.items[0].ID))
		}
	}
	s := encodeFollowCursor(next)
	out.FollowCursor = &s
	return out
}
