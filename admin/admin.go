package admin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/internal/authfail"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// Store is what the admin API needs of the key store.
type Store interface {
	CreateProject(in keystore.ProjectInput) (keystore.Project, error)
	UpdateProject(id string, in keystore.ProjectInput) (keystore.Project, error)
	Project(id string) (keystore.Project, error)
	Projects() ([]keystore.Project, error)
	DeleteProject(id string) error
	CreateKey(projectID string, in keystore.KeyInput) (keystore.NewKey, error)
	Keys(projectID string) ([]keystore.Key, error)
	GetKey(projectID, keyID string) (keystore.Key, error)
	RevokeKey(projectID, keyID string) (keystore.Key, error)
	RotateKey(projectID, keyID string, grace time.Duration) (keystore.NewKey, keystore.Key, error)
	SetKeyBudget(projectID, keyID string, b *keystore.Budget) (keystore.Key, error)
	DataKeys(projectID string) ([]keystore.DataKeyInfo, error)
	RotateDataKey(projectID string) (keystore.DataKeyInfo, error)
	SetMinDecryptionVersion(projectID string, v uint32) ([]keystore.DataKeyInfo, error)
	CreateRoute(projectID string, in keystore.RouteInput) (keystore.Route, error)
	UpdateRoute(projectID, routeID string, in keystore.RouteInput) (keystore.Route, error)
	DeleteRoute(projectID, routeID string) (keystore.Route, error)
	Route(projectID, routeID string) (keystore.Route, error)
	Routes(projectID string) ([]keystore.Route, error)
	CreateClassification(projectID string, in keystore.ClassificationInput) (keystore.Classification, error)
	UpdateClassification(projectID, slug string, in keystore.ClassificationInput) (keystore.Classification, error)
	DeleteClassification(projectID, slug string) (keystore.Classification, error)
	Classification(projectID, slug string) (keystore.Classification, error)
	Classifications(projectID string) ([]keystore.Classification, error)
	Ready() error
}

// Options configure New.
type Options struct {
	// Store is required.
	Store Store
	// Token is the bearer token of the admin API. Required.
	Token string
	// Logger receives unexpected errors. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Events records admin changes and answers event queries. Nil records
	// nothing and lists no events.
	Events EventLog
	// Ready reports whether the process can serve (/readyz). Nil means
	// Store.Ready.
	Ready func() error
	// Members lists the live instances (GET /admin/v1/instances) and
	// where to reach them to merge their event logs. Nil lists none and
	// merges nothing.
	Members Members
	// MergeEvents makes the event list merge the logs of every live
	// instance in Members, asking the others through their admin API
	// (AdminURL) with Token. False lists this instance's log alone.
	MergeEvents bool
	// PeerTLS is the TLS configuration of calls to other instances'
	// admin APIs over https:// (the CA that signs their certificates, a
	// client certificate when they require one). Nil means the system's
	// roots and no client certificate.
	PeerTLS *tls.Config
	// AuthFailures bounds failed attempts at the token per client IP:
	// past its burst the address is answered 429 before the token is
	// compared, and the failures are recorded in Events as auth.failed
	// summaries with "listener": "admin" (RunAuthFailureSummaries). The
	// zero value means 1 a second and a burst of 30; a negative
	// PerSecond turns the limit off (the summaries stay).
	AuthFailures authfail.Options
}

// Admin serves the admin API under /admin/v1 and /healthz, /readyz.
type Admin struct {
	store     Store
	tokenHash [sha256.Size]byte
	log       *slog.Logger
	now       func() time.Time
	ids       *httpapi.RequestIDs
	events    EventLog
	ready     func() error
	members   Members
	authFail  *authfail.Tracker
	// token calls other instances' admin APIs; peers is their client.
	token       string
	mergeEvents bool
	peers       *fasthttp.Client
}

// New returns the admin API handler.
func New(o Options) *Admin {
	// The token is compared without surrounding spaces on both sides: a
	// value with a newline (a secret made from a file) must still match.
	o.Token = strings.TrimSpace(o.Token)
	a := &Admin{store: o.Store, tokenHash: sha256.Sum256([]byte(o.Token)), log: o.Logger, now: o.Now, events: o.Events, ready: o.Ready, members: o.Members, token: o.Token, mergeEvents: o.MergeEvents}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.ready == nil {
		a.ready = o.Store.Ready
	}
	af := o.AuthFailures
	af.Listener = "admin"
	a.authFail = authfail.New(af)
	a.ids = httpapi.NewRequestIDs("adm")
	a.peers = newPeerClient(o.PeerTLS)
	return a
}

// Handler serves one admin request.
func (a *Admin) Handler(ctx *fasthttp.RequestCtx) {
	a.ids.Stamp(ctx)
	if BodyUnread(ctx) {
		// Read only for an authenticated request (readBody): an answer
		// before that ends the connection rather than read or drain the
		// body. Set now, it stays unless authenticate lets the request in.
		ctx.SetConnectionClose()
	}
	path := string(ctx.Path())
	switch path {
	case "/healthz":
		httpapi.WriteJSON(ctx, 200, wire.Status{Status: "ok"})
		return
	case "/readyz":
		if err := a.ready(); err != nil {
			httpapi.WriteJSON(ctx, 503, wire.Status{Status: "not ready"})
			return
		}
		httpapi.WriteJSON(ctx, 200, wire.Status{Status: "ready"})
		return
	}
	if !strings.HasPrefix(path, "/admin/v1/") {
		a.fail(ctx, httpapi.ErrNotFound)
		return
	}
	if ae := a.authenticate(ctx); ae != nil {
		a.fail(ctx, ae)
		return
	}
	ctx.Response.Header.ResetConnectionClose() // what the caller sends may be read now
	seg, err := pathSegments(ctx.Request.URI().PathOriginal())
	if err == nil {
		err = a.route(ctx, seg)
	}
	if err != nil {
		a.fail(ctx, err)
	}
}

// errSubjectTrailingSlash answers a subject path that ends in "/".
var errSubjectTrailingSlash = httpapi.BadRequest(`the subject path ends in "/": send a subject id's trailing "/" as %2F, and no "/" after the id`)

// errDotSegment answers a path with a "." or ".." segment as sent.
var errDotSegment = httpapi.BadRequest(`the path holds a "." or ".." segment: send it resolved, with a subject id of dots percent-encoded (%2E)`)

// pathSegments splits the path as sent, after /admin/v1/, into its
// segments, each percent-decoded on its own. fasthttp's own path is
// decoded first and has its dot segments resolved after, so a subject id
// ".." (or "x/../../P/subjects/y", its slashes sent as %2F) would move the
// call to another project's path, even to DELETE …/projects/{id}: the
// route and every id in it come from this one reading instead, and a
// dot segment as sent is refused (clients resolve it differently).
func pathSegments(raw []byte) ([]string, error) {
	rest, ok := bytes.CutPrefix(raw, []byte("/admin/v1/"))
	if !ok {
		return nil, errDotSegment // fasthttp found /admin/v1/ only by resolving dots
	}
	seg := strings.Split(strings.TrimSuffix(string(rest), "/"), "/")
	for i, p := range seg {
		if p == "." || p == ".." {
			return nil, errDotSegment
		}
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, httpapi.BadRequest("the path holds a segment that is not percent-encoded correctly")
		}
		seg[i] = s
	}
	return seg, nil
}

// fail answers err through the admin listener's error table.
func (a *Admin) fail(ctx *fasthttp.RequestCtx, err error) {
	httpapi.WriteError(ctx, a.log, toAPIError, err)
}

// ServerErrorHandler answers requests fasthttp could not read (malformed,
// too slow) with the same JSON errors as the handler, request id
// included.
func (a *Admin) ServerErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	a.ids.Stamp(ctx)
	a.fail(ctx, httpapi.ServerError(err))
	ctx.SetConnectionClose()
}

// UnauthBodyBytes is the most of a body the admin listener reads before
// the handler has looked at the request: a larger (or chunked) body
// reaches the handler unread, as a stream, and is read only once the
// request has the token and its address is not locked out, at most
// MaxBodyBytes of it. A refused request's unread body is never read: its
// connection is closed after the answer. So no one without the token can
// make the server hold a megabyte per connection, and a locked-out
// address learns nothing from how its body was handled: the right token
// and a wrong one are refused alike, before the body (the body was read
// from the headers' verdict on the token before, without the address,
// which told a locked-out guesser when a guess was right).
const (
	UnauthBodyBytes = 4 << 10
	MaxBodyBytes    = 1 << 20
)

// ConfigureServer sets what the admin listener's server needs for
// Handler: request bodies streamed past UnauthBodyBytes, and its error
// handler.
func (a *Admin) ConfigureServer(s *fasthttp.Server) {
	s.ErrorHandler = a.ServerErrorHandler
	s.StreamRequestBody = true
	s.MaxRequestBodySize = UnauthBodyBytes
	s.DisablePreParseMultipartForm = true
}

// BodyUnread reports whether the request has a body that the server has
// not read whole before the handler (see UnauthBodyBytes).
func BodyUnread(ctx *fasthttp.RequestCtx) bool { return httpapi.BodyUnread(ctx, UnauthBodyBytes) }

// readBody reads the request body, at most MaxBodyBytes; only after
// authenticate. A body over the limit is not read past it: the answer is
// 413 and the connection is closed.
func readBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	return httpapi.ReadBody(ctx, nil, MaxBodyBytes)
}

// authenticate checks the client IP's budget of failed attempts, then
// the token: nil for the token, errUnauthorized for a failure within the
// budget, errAuthLimited (with Retry-After) for one past it or for any
// request from an address that has spent it, whatever its token. A
// request without an Authorization header is 401 but not counted: it
// guesses nothing, and it is all a web page in the operator's browser can
// send to a loopback admin listener (a cross-origin request cannot carry
// the header), which would otherwise lock the operator's own address out.
func (a *Admin) authenticate(ctx *fasthttp.RequestCtx) *httpapi.Error {
	ip, now := authfail.RemoteIP(ctx.RemoteAddr()), a.now()
	if !a.authFail.Limited(ip, now) {
		if a.authorized(ctx) {
			return nil
		}
		if ctx.Request.Header.Peek("Authorization") == nil || a.authFail.Fail(ip, "", now) {
			return errUnauthorized
		}
	}
	ctx.Response.Header.Set("Retry-After", a.authFail.RetryAfter())
	return errAuthLimited
}

// RunAuthFailureSummaries records the auth.failed summaries of failed
// attempts at the token every interval until done is closed, then once
// more. Run it before closing the event log.
func (a *Admin) RunAuthFailureSummaries(done <-chan struct{}) {
	var log authfail.AuditLog
	if a.events != nil {
		log = a.events
	}
	a.authFail.Run(log, a.now, done)
}

// AuthFailures is how many attempts at the token failed since start.
func (a *Admin) AuthFailures() uint64 { return a.authFail.Total() }

// authorized checks the bearer token in constant time.
func (a *Admin) authorized(ctx *fasthttp.RequestCtx) bool {
	return a.tokenOK(ctx.Request.Header.Peek("Authorization"))
}

// tokenOK reports whether auth, an Authorization header, is "Bearer "
// and the admin token (surrounding spaces ignored), compared in constant
// time.
func (a *Admin) tokenOK(auth []byte) bool {
	if a.token == "" {
		return false // no token configured lets no one in, not "Bearer " with nothing after it
	}
	if len(auth) < 7 || !bytes.EqualFold(auth[:7], []byte("Bearer ")) {
		return false
	}
	got := sha256.Sum256(bytes.TrimSpace(auth[7:]))
	return subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) == 1
}

// route dispatches on the path segments after /admin/v1/.
func (a *Admin) route(ctx *fasthttp.RequestCtx, seg []string) error {
	m := string(ctx.Method())
	switch {
	case len(seg) == 1 && seg[0] == "instances":
		return dispatch(ctx, m, map[string]func() error{"GET": func() error { return a.listInstances(ctx) }})
	case len(seg) == 1 && seg[0] == "projects":
		return dispatch(ctx, m, map[string]func() error{
			"GET":  func() error { return a.listProjects(ctx) },
			"POST": func() error { return a.createProject(ctx) },
		})
	case len(seg) == 2 && seg[0] == "projects":
		return dispatch(ctx, m, map[string]func() error{
			"GET":    func() error { return a.getProject(ctx, seg[1]) },
			"PATCH":  func() error { return a.updateProject(ctx, seg[1]) },
			"DELETE": func() error { return a.deleteProject(ctx, seg[1]) },
		})
	case len(seg) >= 3 && seg[0] == "projects" && seg[2] == "keys":
		return a.routeKeys(ctx, m, seg[1], seg[3:])
	case len(seg) >= 3 && seg[0] == "projects" && seg[2] == "routes":
		return a.routeRoutes(ctx, m, seg[1], seg[3:])
	case len(seg) >= 4 && seg[0] == "projects" && seg[2] == "subjects":
		// The rest of the path is the subject: its "/" sent as %2F or
		// as is (no segment of it is a dot segment, see pathSegments).
		// A "/" at the end, which pathSegments cuts, is the id's own or
		// a client's habit: read either way, another subject than the
		// one meant would be erased, so it must come as %2F.
		if bytes.HasSuffix(ctx.Request.URI().PathOriginal(), []byte("/")) {
			return errSubjectTrailingSlash
		}
		return a.routeSubjects(ctx, m, seg[1], strings.Join(seg[3:], "/"))
	case len(seg) >= 3 && seg[0] == "projects" && seg[2] == "classifications":
		return a.routeClassifications(ctx, m, seg[1], seg[3:])
	case len(seg) == 3 && seg[0] == "projects" && seg[2] == "datakeys":
		return dispatch(ctx, m, map[string]func() error{
			"GET":   func() error { return a.listDataKeys(ctx, seg[1]) },
			"PATCH": func() error { return a.setMinDecryption(ctx, seg[1]) },
		})
	case len(seg) == 3 && seg[0] == "projects" && seg[2] == "preview":
		return dispatch(ctx, m, map[string]func() error{"POST": func() error { return a.preview(ctx, seg[1]) }})
	case len(seg) == 3 && seg[0] == "projects" && seg[2] == "events":
		return dispatch(ctx, m, map[string]func() error{"GET": func() error { return a.listEvents(ctx, seg[1]) }})
	case len(seg) == 2 && seg[0] == "events" && seg[1] == "verify":
		return dispatch(ctx, m, map[string]func() error{"GET": func() error { return a.verifyEvents(ctx) }})
	case len(seg) == 4 && seg[0] == "projects" && seg[2] == "datakeys" && seg[3] == "rotate":
		return dispatch(ctx, m, map[string]func() error{"POST": func() error { return a.rotateDataKey(ctx, seg[1]) }})
	}
	return httpapi.ErrNotFound
}

func (a *Admin) routeKeys(ctx *fasthttp.RequestCtx, m, project string, seg []string) error {
	switch len(seg) {
	case 0:
		return dispatch(ctx, m, map[string]func() error{
			"GET":  func() error { return a.listKeys(ctx, project) },
			"POST": func() error { return a.createKey(ctx, project) },
		})
	case 1:
		return dispatch(ctx, m, map[string]func() error{
			"GET":   func() error { return a.getKey(ctx, project, seg[0]) },
			"PATCH": func() error { return a.updateKey(ctx, project, seg[0]) },
		})
	case 2:
		switch seg[1] {
		case "revoke":
			return dispatch(ctx, m, map[string]func() error{"POST": func() error { return a.revokeKey(ctx, project, seg[0]) }})
		case "rotate":
			return dispatch(ctx, m, map[string]func() error{"POST": func() error { return a.rotateKey(ctx, project, seg[0]) }})
		}
	}
	return httpapi.ErrNotFound
}

// dispatch calls the handler for method m, or answers 405 with Allow.
func dispatch(ctx *fasthttp.RequestCtx, m string, handlers map[string]func() error) error {
	if h, ok := handlers[m]; ok {
		return h()
	}
	allow := make([]string, 0, len(handlers))
	for k := range handlers {
		allow = append(allow, k)
	}
	ctx.Response.Header.Set("Allow", strings.Join(sortStrings(allow), ", "))
	return httpapi.ErrMethodNotAllowed
}

// decodeBody decodes the JSON request body into v, refusing unknown
// fields, members in another letter case or given twice, and anything
// after the object. An empty body decodes as {}.
func decodeBody(ctx *fasthttp.RequestCtx, v any) error {
	b, err := readBody(ctx)
	if err != nil {
		return err
	}
	body := bytes.TrimSpace(b)
	if len(body) == 0 {
		body = []byte("{}")
	}
	return decodeStrict(body, v, "")
}

// decodeStrict decodes the JSON value body into v after checkMembers,
// path naming the value in errors ("" for the whole body).
func decodeStrict(body []byte, v any, path string) error {
	if err := checkMembers(body, reflect.TypeOf(v), path); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return httpapi.BadRequest(joinPath(path, ute.Field) + ": wrong type, want " + jsonKind(ute.Type.Kind()))
		}
		if errors.As(err, &ute) && path != "" {
			return httpapi.BadRequest(path + ": wrong type, want " + jsonKind(ute.Type.Kind()))
		}
		if errors.As(err, &ute) {
			return httpapi.BadRequest("body must be a JSON object")
		}
		return httpapi.BadRequest("body is not valid JSON for this call: " + err.Error())
	}
	return nil
}

// jsonKind names a Go kind the way a JSON user knows it.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return "a value"
	}
	return "a number"
}
