package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// The admin API tests' harness.

// admToken is the admin bearer token of every admEnv.
const admToken = "sdpa_test-admin-token-0123456789"

// admEnv is the admin API on an in-memory listener, backed by a real store.
type admEnv struct {
	t      testing.TB
	admin  *Admin
	store  *keystore.Store
	clock  *testclock.Clock
	client *fasthttp.HostClient
	ln     *fasthttputil.InmemoryListener

	mu     sync.Mutex
	reqIDs map[string]bool // every X-Qanapi-Request-Id seen, to check they are unique
}

func newAdmEnv(t testing.TB) *admEnv {
	t.Helper()
	return newAdmEnvWith(t, nil)
}

// newAdmEnvWith is newAdmEnv with the admin's Options changed by set (nil
// changes nothing).
func newAdmEnvWith(t testing.TB, set func(*Options)) *admEnv {
	t.Helper()
	clock := testclock.New()
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{7}, 32), Now: clock.Now})
	if err != nil {
		t.Fatalf("keystore.Open = %v, want nil", err)
	}
	o := Options{Store: store, Token: admToken, Now: clock.Now}
	if set != nil {
		set(&o)
	}
	admin := New(o)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: admin.Handler, Logger: admQuietLogger{}}
	admin.ConfigureServer(srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
		<-served
		if err := store.Close(); err != nil {
			t.Errorf("Store.Close() = %v, want nil", err)
		}
	})
	client := &fasthttp.HostClient{
		Addr:         "admin.test",
		Dial:         func(string) (net.Conn, error) { return ln.Dial() },
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
	}
	return &admEnv{t: t, admin: admin, store: store, clock: clock, client: client, ln: ln, reqIDs: map[string]bool{}}
}

// admQuietLogger drops fasthttp's own messages about refused connections.
type admQuietLogger struct{}

func (admQuietLogger) Printf(string, ...any) {}

// admResp is a finished response, copied out of fasthttp.
type admResp struct {
	status int
	header http.Header
	body   []byte
}

func (r admResp) String() string { return string(r.body) }

// rawAuth sends method path with body and, unless auth is empty, the
// Authorization header auth. It checks what every response must carry.
func (e *admEnv) rawAuth(method, path, body, auth string) admResp {
	e.t.Helper()
	r, err := e.send(method, path, body, auth)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is rawAuth without t.Fatal, for use from other goroutines.
func (e *admEnv) send(method, path, body, auth string) (admResp, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://admin.test" + path)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	if err := e.client.Do(req, resp); err != nil {
		return admResp{}, err
	}
	out := admResp{status: resp.StatusCode(), header: http.Header{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		out.header.Add(string(k), string(v))
	}
	e.checkCommon(method+" "+path, out)
	return out, nil
}

// rawHTTP writes request, raw bytes, on a fresh connection and reads the
// one answer, for requests fasthttp's client would not send.
func (e *admEnv) rawHTTP(what, request string) admResp {
	e.t.Helper()
	conn, err := e.ln.Dial()
	if err != nil {
		e.t.Fatalf("%s: dial: %v", what, err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		e.t.Fatalf("%s: write: %v", what, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("%s: read response: %v", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s: read body: %v", what, err)
	}
	out := admResp{status: resp.StatusCode, header: resp.Header, body: body}
	e.checkCommon(what, out)
	return out
}

// checkCommon checks what every response must carry: a request id never
// used before.
func (e *admEnv) checkCommon(what string, out admResp) {
	id := out.header.Get(httpapi.HeaderRequestID)
	if id == "" {
		e.t.Errorf("%s: header %s = %q, want a request id on every response", what, httpapi.HeaderRequestID, id)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reqIDs[id] {
		e.t.Errorf("%s: request id %q was already used by another response, want unique ids", what, id)
	}
	e.reqIDs[id] = true
}

// call sends an authenticated request.
func (e *admEnv) call(method, path, body string) admResp {
	e.t.Helper()
	return e.rawAuth(method, path, body, "Bearer "+admToken)
}

// want checks the status of r.
func (e *admEnv) want(r admResp, method, path string, status int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, status)
	}
}

// callOK sends an authenticated request and fails unless it answers status.
func (e *admEnv) callOK(method, path, body string, status int) admResp {
	e.t.Helper()
	r := e.call(method, path, body)
	e.want(r, method, path, status)
	return r
}

// admProject is a project as the admin API shows it.
type admProject struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Environment  string   `json:"environment"`
	Upstream     string   `json:"upstream"`
	Destinations []string `json:"destinations"`
	RateLimit    struct {
		RequestsPerSecond float64 `json:"requests_per_second"`
		Burst             int     `json:"burst"`
	} `json:"rate_limit"`
	MaxActiveKeys int       `json:"max_active_keys"`
	BindFields    bool      `json:"bind_fields"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// admKey is a key as the admin API shows it.
type admKey struct {
	ID              string     `json:"id"`
	Key             string     `json:"key"`
	ProjectID       string     `json:"project_id"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	Permissions     []string   `json:"permissions"`
	Classifications []string   `json:"classifications"`
	CreatedAt       time.Time  `json:"created_at"`
	LastUsedAt      *time.Time `json:"last_used_at"`
	RevokedAt       *time.Time `json:"revoked_at"`
	ExpiresAt       *time.Time `json:"expires_at"`
	RotatedTo       string     `json:"rotated_to"`
}

// admPage is one page of a list.
type admPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

// admDecode decodes body into v or fails.
func admDecode(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v, want nil", body, err)
	}
}

// admMembers returns the top-level members of a JSON object.
func admMembers(t testing.TB, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	admDecode(t, body, &m)
	return m
}

// project creates a project from body (a JSON object) and returns it.
func (e *admEnv) project(body string) admProject {
	e.t.Helper()
	r := e.callOK("POST", "/admin/v1/projects", body, 201)
	var p admProject
	admDecode(e.t, r.body, &p)
	return p
}

// key creates a key in project from body and returns it, with its secret.
func (e *admEnv) key(project, body string) admKey {
	e.t.Helper()
	r := e.callOK("POST", "/admin/v1/projects/"+project+"/keys", body, 201)
	var k admKey
	admDecode(e.t, r.body, &k)
	return k
}

// classes defines classifications slugs in project, with the defaults.
func (e *admEnv) classes(project string, slugs ...string) {
	e.t.Helper()
	for _, s := range slugs {
		e.callOK("POST", "/admin/v1/projects/"+project+"/classifications", `{"slug":"`+s+`"}`, 201)
	}
}

// getKey returns key id of project.
func (e *admEnv) getKey(project, id string) admKey {
	e.t.Helper()
	r := e.callOK("GET", "/admin/v1/projects/"+project+"/keys/"+id, "", 200)
	var k admKey
	admDecode(e.t, r.body, &k)
	return k
}

// wantError checks that r is the JSON error status/code and returns its
// message. The body must have exactly the documented shape.
func wantError(t testing.TB, r admResp, what string, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d %s, want %d", what, r.status, r.body, status)
	}
	if got := r.header.Get(httpapi.HeaderErrorCode); got != code {
		t.Errorf("%s: header %s = %q, want %q", what, httpapi.HeaderErrorCode, got, code)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
	var eb struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("%s: error body %s does not have the shape {\"error\":{\"code\",\"message\",\"request_id\"}}: %v", what, r.body, err)
	}
	if eb.Error.Code != code {
		t.Errorf("%s: error.code = %q, want %q", what, eb.Error.Code, code)
	}
	if eb.Error.Message == "" {
		t.Errorf("%s: error.message = \"\", want a message", what)
	}
	if id := r.header.Get(httpapi.HeaderRequestID); eb.Error.RequestID == "" || eb.Error.RequestID != id {
		t.Errorf("%s: error.request_id = %q, want the %s header %q", what, eb.Error.RequestID, httpapi.HeaderRequestID, id)
	}
	return eb.Error.Message
}
