package events

import "time"

// Event types.
const (
	TypeRequest          = "request"
	TypeProjectCreated   = "project.created"
	TypeProjectUpdated   = "project.updated"
	TypeProjectDeleted   = "project.deleted"
	TypeKeyCreated       = "key.created"
	TypeKeyUpdated       = "key.updated" // Details {"decrypt_budget": "10000/24h" or "none"}
	TypeKeyRevoked       = "key.revoked"
	TypeKeyRotated       = "key.rotated"
	TypeKeyExpired       = "key.expired"
	TypeDataKeyRotated   = "datakey.rotated"
	TypeDataKeyMinChange = "datakey.min_decryption_version"

	// TypeRouteCreated, TypeRouteUpdated and TypeRouteDeleted record a
	// change of a project's route rules: Details {"route_id": "rt_…",
	// "path": "/posts/**"} (the path after the change; for a delete, the
	// path the route had).
	TypeRouteCreated = "route.created"
	TypeRouteUpdated = "route.updated"
	TypeRouteDeleted = "route.deleted"

	// TypeClassificationCreated, TypeClassificationUpdated and
	// TypeClassificationDeleted record a change of a project's
	// classifications: Details {"slug": "pii"}.
	TypeClassificationCreated = "classification.created"
	TypeClassificationUpdated = "classification.updated"
	TypeClassificationDeleted = "classification.deleted"

	// TypeAuthFailed summarises repeated authentication failures of one
	// client: Details {"client_ip": "10.1.2.3", "count": "120",
	// "interval": "1m0s"} (the count of failed requests from client_ip in
	// the interval, as decimal text). The proxy records it instead of one
	// 401 request event per attempt. Retention treats it, like a request
	// event with status 401, as a failure: removed first when the log is
	// over its MaxCount.
	TypeAuthFailed = "auth.failed"

	// TypeKeyBudgetExhausted records that an API key's decrypt budget
	// refused a request for the first time in a window: once per key and
	// window across every instance sharing the store. Details
	// {"values", "per", "window_start", "window_end"}; never a field value.
	TypeKeyBudgetExhausted = "key.budget_exhausted"

	// TypeSubjectErased records the erasure of a data subject (its secret
	// destroyed): Details {"subject": "<reference>"}, the keyed hash that
	// the subject's tokens carry; never the subject id.
	TypeSubjectErased = "subject.erased"

	// TypeLogUpgraded is written by Open into the chain when it takes
	// over a log whose head record was not signed (written by an sdproxy
	// before signed heads) or was missing from an empty log: Details
	// {"head": "unsigned"|"missing"}. From this entry on the head must be
	// signed. A log wiped down to empty buckets also gets one, so an
	// auditor sees where such a log started anew.
	TypeLogUpgraded = "eventlog.upgraded"
)

// Types lists every event type, in the order the console offers them.
var Types = []string{
	TypeRequest, TypeAuthFailed, TypeProjectCreated, TypeProjectUpdated, TypeProjectDeleted,
	TypeKeyCreated, TypeKeyUpdated, TypeKeyRevoked, TypeKeyRotated, TypeKeyExpired, TypeKeyBudgetExhausted,
	TypeDataKeyRotated, TypeDataKeyMinChange, TypeRouteCreated, TypeRouteUpdated, TypeRouteDeleted,
	TypeClassificationCreated, TypeClassificationUpdated, TypeClassificationDeleted,
	TypeSubjectErased, TypeLogUpgraded,
}

// Event is one entry of the log as stored and as the admin API shows it.
// Request fields are set only on "request" events; Actor and Details only
// on admin events. It never holds a field value or a secret.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// InstanceID names the sdproxy instance that recorded the event
	// (Options.InstanceID); absent in events recorded before instances
	// had ids.
	InstanceID string  `json:"instance_id,omitempty"`
	ProjectID  string  `json:"project_id"`
	KeyID      *string `json:"key_id"`

	Method         string   `json:"method,omitempty"`
	Path           string   `json:"path,omitempty"`
	Mode           string   `json:"mode,omitempty"`
	Fields         []string `json:"fields,omitempty"`
	Classification *string  `json:"classification,omitempty"`
	Destination    *string  `json:"destination,omitempty"`
	Geofence       *string  `json:"geofence,omitempty"`
	Status         int      `json:"status,omitempty"`
	LatencyMS      float64  `json:"latency_ms,omitempty"`  // the whole request, upstream included
	UpstreamMS     float64  `json:"upstream_ms,omitempty"` // of LatencyMS, the upstream's; absent when none was called
	RequestID      string   `json:"request_id,omitempty"`
	ClientIP       string   `json:"client_ip,omitempty"`
	RateLimited    *bool    `json:"rate_limited,omitempty"`
	// RouteID is the project route that applied, if any.
	RouteID string `json:"route_id,omitempty"`
	// ResponseFields are the names of the fields of the response phase.
	ResponseFields []string `json:"response_fields,omitempty"`
	// RequestValues and ResponseValues count the values transformed in
	// each phase; Untransformed counts response tokens left as they were
	// (not openable by this key or project).
	RequestValues  int `json:"request_values,omitempty"`
	ResponseValues int `json:"response_values,omitempty"`
	Untransformed  int `json:"untransformed,omitempty"`
	// Subject is the reference (keyed hash) of the data subject the
	// request sealed for (X-Qanapi-Subject); never the subject id.
	Subject string `json:"subject,omitempty"`

	Actor   string            `json:"actor,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// Request is the record of one data-plane request, filled on the request
// path and handed to Log.Submit. Requests are pooled: byte slices are
// copied in with the Set methods and reused, so recording allocates
// nothing in steady state. Only names of fields are kept, never values.
type Request struct {
	Time        time.Time
	ProjectID   string // a known project's id (shared, not copied), or ""
	KeyID       string // the authenticated key's id, or ""
	Mode        string
	Status      int
	Latency     time.Duration // the whole request's time in the proxy, the upstream's included
	Upstream    time.Duration // of Latency, the upstream's (sending it the request until its answer is read); 0: none called
	RateLimited bool
	// RouteID is the route that applied (shared, not copied), or "".
	RouteID string
	// RequestValues, ResponseValues and Untransformed count values (see
	// Event).
	RequestValues, ResponseValues, Untransformed int

	// arena holds the bytes of the slices below, one after another: a
	// record's bytes sit together in memory, so the writer, which reads
	// a batch of records long after they were filled, loads a few cache
	// lines per record rather than one per slice. The slices are views
	// of it (capped, so that none grows into the next); one set before
	// the arena last grew keeps its old, still valid, copy.
	arena                                                            []byte
	respFields                                                       []byte
	method, path, fields, class, dest, geofence, requestID, clientIP []byte
	nfields                                                          int // names in the list given to SetFields
	subject                                                          []byte
}

// SetMethod and the other Set methods copy b into the record. SetPath
// keeps at most MaxPathBytes (see SetFields for the field names).
func (r *Request) SetMethod(b []byte)         { r.method = r.keep(b) }
func (r *Request) SetClassification(b []byte) { r.class = r.keep(b) }
func (r *Request) SetDestination(b []byte)    { r.dest = r.keep(b) }
func (r *Request) SetGeofence(b []byte)       { r.geofence = r.keep(b) }
func (r *Request) SetRequestID(b []byte)      { r.requestID = r.keep(b) }
func (r *Request) SetClientIP(b []byte)       { r.clientIP = r.keep(b) }

func (r *Request) SetPath(b []byte) {
	n := len(r.arena)
	r.arena = appendCapped(r.arena, b, MaxPathBytes)
	r.path = r.since(n)
}

// SetSubject copies in the reference of the request's data subject.
func (r *Request) SetSubject(b []byte) { r.subject = r.keep(b) }

// keep appends b to the arena and returns its copy there.
func (r *Request) keep(b []byte) []byte {
	n := len(r.arena)
	r.arena = append(r.arena, b...)
	return r.since(n)
}

// since is the arena from n on, capped at its end.
func (r *Request) since(n int) []byte {
	if n == len(r.arena) {
		return nil
	}
	return r.arena[n:len(r.arena):len(r.arena)]
}

// FieldCount is how many field names the request named, all of them,
// also those beyond the MaxFieldNames that are stored.
func (r *Request) FieldCount() int { return r.nfields }

// buffers are r's copies of the request's bytes.
func (r *Request) buffers() [10][]byte {
	return [...][]byte{r.respFields, r.method, r.path, r.fields, r.class, r.dest, r.geofence, r.requestID, r.clientIP, r.subject}
}

// size is the bytes r holds beyond its fixed part: what its record
// copies of the request.
func (r *Request) size() (n int) {
	for _, b := range r.buffers() {
		n += len(b)
	}
	return n
}

// capacity is the bytes r's buffers have room for.
func (r *Request) capacity() int { return cap(r.arena) }

// maxKept bounds the buffers a pooled record keeps for the next request:
// one that held long field lists lets them go rather than hold them in
// the free list (up to BatchSize records) for good.
const maxKept = 4 << 10

// recycle makes r ready to be reused: reset, and without its buffers
// when they have grown past maxKept.
func (r *Request) recycle() {
	if r.capacity() > maxKept {
		*r = Request{}
		return
	}
	r.reset()
}

func (r *Request) reset() {
	*r = Request{arena: r.arena[:0]}
}
