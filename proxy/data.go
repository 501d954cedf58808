package proxy

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/authfail"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// DataStore is what the data plane needs of the key store.
type DataStore interface {
	// Authenticate checks key for project; every failure is
	// keystore.ErrUnauthorized.
	Authenticate(projectID, key []byte) (*keystore.Principal, error)
	// AuthenticateKey checks key for whatever project it belongs to.
	AuthenticateKey(key []byte) (*keystore.Principal, error)
	// StillAuthenticates is nil when the key of a principal that
	// Authenticate returned still authenticates now (not revoked,
	// expired or deleted since), else keystore.ErrUnauthorized or
	// keystore.ErrStoreUnavailable.
	StillAuthenticates(p *keystore.Principal) error
	// CachedProject returns the project's current settings, or nil.
	CachedProject(id []byte) *keystore.Project
	// Keyring returns the project's data keys.
	Keyring(projectID string) (*keystore.Keyring, error)
	// CachedRoutes returns the project's routes in evaluation order (a
	// slice never changed afterwards) and a version that changes with them.
	CachedRoutes(projectID []byte) ([]keystore.Route, uint64)
	// CachedClassification returns the project's classification slug
	// ("" and "none" give the built-in one) and whether it is defined.
	// It must not allocate.
	CachedClassification(projectID, slug []byte) (*keystore.Classification, bool)
	// CachedMask returns the mask of the project's classification slug,
	// or nil when the project does not define it. It must not allocate.
	CachedMask(projectID, slug []byte) *fieldcrypt.Mask
	// UpstreamClientCertificate returns the project's upstream client
	// certificate with its key, or nil when it has none. It is called
	// when the project's TLS profile changes, not per request.
	UpstreamClientCertificate(p *keystore.Project) (*tls.Certificate, error)
}

// DataOptions configure NewData.
type DataOptions struct {
	// Store is required.
	Store DataStore
	// Logger receives unexpected errors. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (rate limits, times, durations). Nil means
	// time.Now, read once per request: durations (Server-Timing, the
	// event's latency) are then measured on the monotonic clock alone.
	Now func() time.Time
	// MaxBodyBytes bounds request bodies that are transformed. Zero means 10 MiB.
	MaxBodyBytes int
	// LimiterIdle is how long an idle, full token bucket is kept. Zero means 10 minutes.
	LimiterIdle time.Duration
	// Upstream limits forwarded requests.
	Upstream UpstreamOptions
	// Events receives one record per request. Nil records nothing.
	// Failed authentications are not recorded one by one: they are
	// summarised to Audit (see AuthFailures).
	Events EventSink
	// Audit receives the auth.failed summaries. Nil drops them.
	Audit AuditLog
	// AuthFailures bounds failed authentications per client IP.
	AuthFailures AuthFailureOptions
	// MaxValues is the most field values one request may transform (413
	// too_many_values). Zero means 10,000.
	MaxValues int
	// MaxOutputBytes is the largest transformed body (413 body_too_large).
	// Zero means twice MaxBodyBytes.
	MaxOutputBytes int
	// UnauthBodyBytes is the largest body read before the key is known to
	// be valid: a request declaring more (or chunked) is authenticated from
	// its headers first, and refused 401 without reading the body when the
	// key is not valid. Zero means 4 KiB.
	UnauthBodyBytes int
}

// EventSink is what the data plane needs of the event log: pooled records
// filled on the request path and handed over without blocking.
type EventSink interface {
	Acquire() *events.Request
	Submit(*events.Request)
}

// Data serves the data listener: the Smart Data Proxy and the direct API.
type Data struct {
	store     DataStore
	log       *slog.Logger
	now       func() time.Time
	since     func(time.Time) time.Duration // time since a time of now
	maxBody   int
	limits    *limiters
	upstreams *upstreams
	ids       *httpapi.RequestIDs
	states    sync.Pool
	events    EventSink
	audit     AuditLog
	authFail  *authfail.Tracker
	unauthMax int
	maxValues int
	maxOutput int
	fields    fieldsCache
	routes    routeCache
	indexes   indexCache
	indexKeys indexKeyCache
}

// NewData returns the data-plane handler.
func NewData(o DataOptions) *Data {
	d := &Data{store: o.Store, log: o.Logger, now: o.Now, maxBody: o.MaxBodyBytes, events: o.Events, audit: o.Audit, unauthMax: o.UnauthBodyBytes}
	if d.unauthMax == 0 {
		d.unauthMax = 4 << 10
	}
	fieldcrypt.Prepare() // the Unicode tables, before the first key that is not ASCII waits for them
	d.authFail = authfail.New(o.AuthFailures)
	d.maxValues, d.maxOutput = cmp.Or(o.MaxValues, 10_000), cmp.Or(o.MaxOutputBytes, 2*d.maxBody)
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.now == nil {
		d.now, d.since = time.Now, time.Since
	} else {
		d.since = func(t time.Time) time.Duration { return d.now().Sub(t) }
	}
	if d.maxBody == 0 {
		d.maxBody = 10 << 20
	}
	if o.LimiterIdle == 0 {
		o.LimiterIdle = 10 * time.Minute
	}
	d.limits = newLimiters(o.LimiterIdle)
	d.upstreams = newUpstreams(o.Upstream, o.Store)
	d.ids = httpapi.NewRequestIDs("req")
	d.states.New = func() any { return d.newState() }
	return d
}

// SetInstances sets how many instances share the store, and so every
// key's rate limit: each key's bucket here gets 1/n of the project's rate
// and burst (burst at least 1), from the key's next request on. Zero or
// one means this instance alone enforces the whole limit.
func (d *Data) SetInstances(n int) { d.limits.setInstances(n) }

// Paths of the data listener.
const (
	pathProxy         = "/proxy/"
	pathDirectEncrypt = "/api-v1/v1/encrypt"
	pathDirectDecrypt = "/api-v1/v1/decrypt"
	pathDirectIndex   = "/api-v1/v1/index"
)

// Handler serves one data-plane request.
func (d *Data) Handler(ctx *fasthttp.RequestCtx) {
	start := d.now()
	st := d.states.Get().(*reqState)
	defer d.putState(st)
	st.start = start
	if d.bodyUnread(ctx) {
		// Read only once the request may go on (loadBody, which keeps
		// the connection then): any answer before ends it instead.
		ctx.SetConnectionClose()
	}
	st.reqID = d.ids.Next(st.reqID[:0])
	ctx.Response.Header.SetCanonical(canonRequestID, st.reqID)
	path := ctx.Path()
	var err error
	switch string(path) {
	case pathDirectEncrypt:
		err = d.serveDirect(ctx, st, modeEncrypt)
	case pathDirectDecrypt:
		err = d.serveDirect(ctx, st, modeDecrypt)
	case pathDirectIndex:
		err = d.serveIndex(ctx, st)
	default:
		if rest, ok := bytes.CutPrefix(path, []byte(pathProxy)); ok {
			err = d.serveProxy(ctx, st, rest)
		} else {
			err = httpapi.ErrNotFound
		}
	}
	if err != nil {
		if err == errAuthLimited {
			ctx.Response.Header.Set("Retry-After", d.authFail.RetryAfter())
		}
		d.fail(ctx, err)
	}
	total := d.since(start)
	if !st.authFailed {
		// A refused key gets no timing: its answer is the same, header
		// for header, whichever way the key was wrong.
		setServerTiming(&ctx.Response.Header, total, st.upstream, st.upstreamCalled)
	}
	d.record(ctx, st, start, total)
	if st.bodyLoaded {
		// The request's body may be st.body (loadBody), which the pool
		// hands to another request next: the request keeps no view of it.
		ctx.Request.ResetBody()
	}
}

// record hands the request's event to the event log: names, never values.
func (d *Data) record(ctx *fasthttp.RequestCtx, st *reqState, start time.Time, total time.Duration) {
	if d.events == nil || st.authFailed {
		return
	}
	r := d.events.Acquire()
	r.Time = start
	r.Latency = total
	if st.upstreamCalled {
		r.Upstream = st.upstream
	}
	r.Status = ctx.Response.StatusCode()
	r.RateLimited = r.Status == fasthttp.StatusTooManyRequests && !st.budgetRefused
	switch {
	case st.project != nil:
		r.ProjectID = st.project.ID
	case st.pathProject != nil:
		if p := d.store.CachedProject(st.pathProject); p != nil {
			r.ProjectID = p.ID // failed attempts show in the project's log too
		}
	}
	if st.principal != nil {
		r.KeyID = st.principal.KeyID
	}
	if st.mode != 0 {
		r.Mode = st.mode.String()
	}
	r.SetMethod(ctx.Method())
	r.SetPath(ctx.Path())
	r.SetFields(st.requestNames())
	r.SetClassification(st.h.class)
	var dest [256]byte
	r.SetDestination(destOrigin(dest[:0], st.h.dest))
	r.SetGeofence(st.h.geofence)
	r.SetRequestID(st.reqID)
	if st.route != nil {
		r.RouteID = st.route.id
	}
	if st.resp.active {
		r.SetResponseFields(st.resp.names)
	}
	r.RequestValues, r.ResponseValues, r.Untransformed = st.reqValues, st.respResult.values, st.respResult.untransformed
	st.recordSubject(r)
	st.scratch = appendIP(st.scratch[:0], ctx.RemoteAddr())
	r.SetClientIP(st.scratch)
	d.events.Submit(r)
}

func (d *Data) putState(st *reqState) {
	st.reset()
	d.states.Put(st)
}
