package proxy

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/authfail"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// reqState is the per-request scratch of the data plane, pooled. Nothing
// in it outlives the handler.
type reqState struct {
	h qHeaders
	// pathProject is the project id of a /proxy/ path, as sent.
	pathProject []byte
	principal   *keystore.Principal
	route       *route   // the project route that applies, or nil
	resp        respPlan // the response phase, when resp.active
	decoded     bool     // the request body was decompressed to transform it
	bodyLoaded  bool     // the request's body is st.body (loadBody)
	reqValues   int      // values transformed in the request phase
	// decrypted is the values the request phase decrypted, counted in
	// reqValues once spent from the key's budget (serveProxy).
	decrypted  int
	respResult respCounts
	clientIP   netip.Addr
	start      time.Time
	authFailed bool // refused before or at authentication: summarised, not recorded
	// budgetRefused: refused 429 by the key's decrypt budget, not its
	// rate limit.
	budgetRefused bool
	project       *keystore.Project
	mode          mode
	class         string // classification slug, "" for none
	params        fieldcrypt.Params
	subjectRef    [keystore.SubjectRefSize]byte // params.SubjectRef's bytes (subject.go)
	dest          target
	// upstream is how long the upstream took, when upstreamCalled.
	upstream       time.Duration
	upstreamCalled bool
	// Buffers reused across requests; body holds a streamed request
	// body (loadBody).
	buf, url, origin, scratch, reqID, body []byte
	// dec, rdec: decompressed request and response bodies; rbuf: the
	// transformed response; names: merged field lists; conn: the
	// Connection lists of a forwarded request and its answer.
	dec, rdec, rbuf, names, respNames, conn []byte
	// maskFor is fieldcrypt.RevealOptions.MaskFor for the project whose
	// id is in maskProject: made once per reqState, so that masking by
	// classification allocates nothing per request.
	maskFor     func(cls []byte) *fieldcrypt.Mask
	maskProject []byte
	// data is set before a blind index is computed, for IndexKey (index.go).
	data *Data
}

// newState returns a reqState for the pool, with its maskFor.
func (d *Data) newState() *reqState {
	st := new(reqState)
	st.maskFor = func(cls []byte) *fieldcrypt.Mask { return d.store.CachedMask(st.maskProject, cls) }
	return st
}

func (st *reqState) reset() {
	*st = reqState{
		buf: keep(st.buf), url: keep(st.url), origin: keep(st.origin), scratch: keep(st.scratch), reqID: keep(st.reqID), body: keep(st.body),
		dec: keep(st.dec), rbuf: keep(st.rbuf), rdec: keep(st.rdec), names: keep(st.names), respNames: keep(st.respNames), conn: keep(st.conn),
		maskFor: st.maskFor, maskProject: keep(st.maskProject),
	}
}

// keep empties b for reuse, dropping it when it grew large, so the pool
// does not pin big bodies.
func keep(b []byte) []byte {
	if cap(b) > 1<<20 {
		return nil
	}
	return b[:0]
}

// routeClass is the classification the route's request rule gives new
// tokens, or "".
func (st *reqState) routeClass() string {
	if st.route == nil || st.route.request == nil {
		return ""
	}
	return st.route.request.class
}

// authFailed counts a failed authentication of ip for the project named
// in the path (when it exists) and answers 401, or 429 once ip has spent
// its budget of failures.
func (d *Data) authFailed(ip netip.Addr, pathProject []byte, now time.Time) error {
	var project string
	if pathProject != nil {
		if p := d.store.CachedProject(pathProject); p != nil {
			project = p.ID
		}
	}
	if !d.authFail.Fail(ip, project, now) {
		return errAuthLimited
	}
	return errUnauthorized
}

// admit runs the checks every data-plane request passes, in order: key →
// authentication → mode and permission → classification → rate limit.
// project is nil for the direct API, where the key names the project.
func (d *Data) admit(ctx *fasthttp.RequestCtx, st *reqState, project []byte, m mode) error {
	if err := d.authenticate(ctx, st, project); err != nil {
		return err
	}
	if m == 0 {
		var ok bool
		if m, ok = parseMode(st.h.mode); !ok {
			return errInvalidMode
		}
	}
	return d.authorize(ctx, st, m)
}

// authenticate runs the checks before any rule applies: the client IP's
// failure budget, the key, and the X-Qanapi-* headers' shape.
func (d *Data) authenticate(ctx *fasthttp.RequestCtx, st *reqState, project []byte) error {
	parseHeaders(&ctx.Request.Header, &st.h)
	st.pathProject = project
	st.clientIP = authfail.RemoteIP(ctx.RemoteAddr())
	if d.authFail.Limited(st.clientIP, st.start) {
		st.authFailed = true
		return errAuthLimited
	}
	var err error
	if project == nil {
		st.principal, err = d.store.AuthenticateKey(st.h.auth)
	} else {
		st.principal, err = d.store.Authenticate(project, st.h.auth)
	}
	if err == nil {
		st.scratch = append(st.scratch[:0], st.principal.ProjectID...) // no []byte(string) escaping through the interface
		if st.project = d.store.CachedProject(st.scratch); st.project == nil {
			err = errUnauthorized // deleted between the two look-ups
		}
	}
	if errors.Is(err, keystore.ErrStoreUnavailable) {
		st.principal = nil
		return errStoreUnavailable // not the caller's failure: not counted against its address
	}
	if err != nil {
		st.principal, st.authFailed = nil, true
		return d.authFailed(st.clientIP, project, st.start)
	}
	if st.h.dup != "" {
		return httpapi.BadRequest(st.h.dup + " was sent more than once")
	}
	if st.h.unknown != nil {
		return unknownHeader(st.h.unknown)
	}
	if st.h.trailer != nil {
		return errInTrailer(st.h.trailer)
	}
	return nil
}

// errInTrailer is the 400 of an X-Qanapi-* header announced in Trailer or
// sent in a chunked body's trailer section.
func errInTrailer(name []byte) error {
	return httpapi.BadRequest(string(name) + " was sent in the trailer, after the body: X-Qanapi-* headers go before the body")
}

// authorize checks the key's permission for mode m (0: the request
// transforms nothing, so no mode's permission is needed) and the
// classification, then takes a token of the key's bucket.
func (d *Data) authorize(ctx *fasthttp.RequestCtx, st *reqState, m mode) error {
	st.mode = m
	if err := d.checkPermission(st); err != nil {
		return err
	}
	if err := d.rateLimit(ctx, st); err != nil {
		return err
	}
	return d.loadBody(ctx, st)
}

// checkPermission checks the key's permission for the mode and, when
// encrypting, that the project defines the classification and that a key
// limited to some classifications may use it.
func (d *Data) checkPermission(st *reqState) error {
	p := st.principal
	if st.mode == modeEncrypt && !p.CanEncrypt || st.mode == modeDecrypt && !p.CanDecrypt {
		return errPermission
	}
	defined, err := d.setClass(st)
	switch {
	case err != nil:
		return err
	case st.mode != modeEncrypt:
		return nil // tokens of any slug, a deleted one too, open as the key allows
	case !defined:
		return errUnknownClass
	case len(p.Classifications) > 0 && !slices.Contains(p.Classifications, orNone(st.class)):
		return errPermission
	}
	return nil
}

// setClass sets st.class, the request's classification (from
// X-Qanapi-Classification, else from the route's request rule; "" for
// none), and reports whether the project defines it. A defined slug's
// string is the cache's, so a classified request allocates nothing.
func (d *Data) setClass(st *reqState) (bool, error) {
	rc := st.routeClass()
	c := bytes.TrimSpace(st.h.class)
	switch {
	case len(c) > 0 && !keystore.ValidSlug(string(c)):
		return false, errInvalidClass
	case len(c) > 0 && rc != "" && string(c) != rc:
		return false, errRouteConflict
	case len(c) == 0 && rc == "":
		st.class = ""
		return true, nil
	}
	// The project id and the slug, as bytes: no []byte(string) escaping
	// through the interface.
	st.scratch = append(st.scratch[:0], st.project.ID...)
	n := len(st.scratch)
	if len(c) > 0 {
		st.scratch = append(st.scratch, c...)
	} else {
		st.scratch = append(st.scratch, rc...)
	}
	cl, ok := d.store.CachedClassification(st.scratch[:n], st.scratch[n:])
	switch {
	case ok:
		st.class = cl.Slug
	case len(c) > 0:
		st.class = string(c)
	default:
		st.class = rc
	}
	return ok, nil
}

// orNone is the slug of tokens of classification cls: "none" for "".
func orNone(cls string) string {
	if cls == "" {
		return keystore.NoClassification
	}
	return cls
}

// allowClass is Params.Allow for decryption with a key limited to some
// classifications.
func allowClass(p *keystore.Principal) func(string) error {
	if len(p.Classifications) == 0 {
		return nil
	}
	return func(cls string) error {
		if !slices.Contains(p.Classifications, cls) {
			return errPermission
		}
		return nil
	}
}

// rateLimit takes a token of the key's bucket and sets the RateLimit-*
// headers; a refused request gets 429 with Retry-After.
func (d *Data) rateLimit(ctx *fasthttp.RequestCtx, st *reqState) error {
	res := d.limits.allow(st.principal.KeyID, st.project.RateLimit, st.start)
	var num [20]byte
	h := &ctx.Response.Header
	h.SetCanonical(canonLimit, strconv.AppendInt(num[:0], int64(res.limit), 10))
	h.SetCanonical(canonRemaining, strconv.AppendInt(num[:0], int64(res.remaining), 10))
	h.SetCanonical(canonReset, strconv.AppendInt(num[:0], ceilSeconds(res.reset, 0), 10))
	if !res.allowed {
		h.SetCanonical(canonRetryAfter, strconv.AppendInt(num[:0], ceilSeconds(res.retryAfter, 1), 10))
		return errRateLimited
	}
	return nil
}

// checkBody refuses bodies that cannot be transformed safely.
func (d *Data) checkBody(ctx *fasthttp.RequestCtx) error {
	if enc := ctx.Request.Header.ContentEncoding(); len(enc) > 0 && !bytes.EqualFold(enc, []byte("identity")) {
		return errEncoded
	}
	if len(ctx.Request.Body()) > d.maxBody {
		return httpapi.ErrBodyTooLarge
	}
	return nil
}

// setParams prepares fieldcrypt for the request's project.
func (d *Data) setParams(st *reqState) error {
	kr, err := d.store.Keyring(st.project.ID)
	if err != nil {
		return err
	}
	st.params = fieldcrypt.Params{
		ProjectID: st.project.ID, Classification: st.class, Keys: kr,
		BindFields: st.project.BindFields, MaxValues: d.maxValues, MaxOutput: d.maxOutput,
	}
	if st.mode == modeDecrypt {
		st.params.Allow = allowClass(st.principal)
	}
	return d.setSubject(st, kr)
}
