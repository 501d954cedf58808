package admin

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// admRoute is a route as the admin API shows it.
type admRoute struct {
	ID        string   `json:"id"`
	ProjectID string   `json:"project_id"`
	Methods   []string `json:"methods"`
	Path      string   `json:"path"`
	Order     int      `json:"order"`
	Request   *struct {
		Mode           string   `json:"mode"`
		Fields         []string `json:"fields"`
		Classification string   `json:"classification"`
		Require        []string `json:"require"`
	} `json:"request"`
	Response *struct {
		Mode   string   `json:"mode"`
		Fields []string `json:"fields"`
	} `json:"response"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// exampleRoute is the route of issue 11.
const exampleRoute = `{"methods": ["POST", "PUT", "PATCH"], "path": "/posts/**", "order": 10,
 "request":  {"mode": "encrypt", "fields": ["title", "body"], "classification": "pii", "require": ["title"]},
 "response": {"mode": "decrypt", "fields": ["title", "body", "*.title", "*.body"]}}`

// route creates a route in project from body and returns it.
func (e *admEnv) route(project, body string) admRoute {
	e.t.Helper()
	r := e.callOK("POST", "/admin/v1/projects/"+project+"/routes", body, 201)
	var v admRoute
	admDecode(e.t, r.body, &v)
	return v
}

// wantMembers checks that the JSON object raw has exactly the members names.
func wantMembers(t *testing.T, what string, raw json.RawMessage, names ...string) {
	t.Helper()
	var got []string
	for k := range admMembers(t, raw) {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s members = %q, want %q", what, got, names)
	}
}

func TestAdminRouteCRUD(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Blog"}`)
	e.classes(p.ID, "pii")
	routes := "/admin/v1/projects/" + p.ID + "/routes"

	created := e.callOK("POST", routes, exampleRoute, 201)
	m := admMembers(t, created.body)
	wantMembers(t, "POST routes", created.body, "id", "project_id", "methods", "path", "order", "request", "response", "created_at", "updated_at")
	wantMembers(t, "POST routes request", m["request"], "mode", "fields", "classification", "require")
	wantMembers(t, "POST routes response", m["response"], "mode", "fields")
	var r admRoute
	admDecode(t, created.body, &r)
	if !strings.HasPrefix(r.ID, "rt_") || r.ProjectID != p.ID || r.Path != "/posts/**" || r.Order != 10 ||
		!slices.Equal(r.Methods, []string{"POST", "PUT", "PATCH"}) || !r.CreatedAt.Equal(e.clock.Now()) || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("POST %s = %s, want the example route, created now", routes, created.body)
	}
	if r.Request == nil || r.Request.Mode != "encrypt" || !slices.Equal(r.Request.Fields, []string{"title", "body"}) ||
		r.Request.Classification != "pii" || !slices.Equal(r.Request.Require, []string{"title"}) {
		t.Errorf("POST %s request = %+v, want the example's", routes, r.Request)
	}
	if r.Response == nil || r.Response.Mode != "decrypt" || !slices.Equal(r.Response.Fields, []string{"title", "body", "*.title", "*.body"}) {
		t.Errorf("POST %s response = %+v, want the example's", routes, r.Response)
	}

	one := routes + "/" + r.ID
	if got := e.callOK("GET", one, "", 200); string(got.body) != string(created.body) {
		t.Errorf("GET %s = %s, want what POST answered: %s", one, got.body, created.body)
	}
	var list admPage
	admDecode(t, e.callOK("GET", routes, "", 200).body, &list)
	if len(list.Items) != 1 || string(list.Items[0]) != strings.TrimSpace(string(created.body)) || list.NextCursor != nil {
		t.Errorf("GET %s = %+v, want one item, the route, and next_cursor null", routes, list)
	}

	// PUT replaces the whole route: what the body leaves out is gone.
	e.clock.Advance(time.Minute)
	put := e.callOK("PUT", one, `{"path":"/comments/*","response":{"fields":["text"]}}`, 200)
	m = admMembers(t, put.body)
	if string(m["request"]) != "null" || string(m["methods"]) != "[]" || string(m["order"]) != "0" {
		t.Errorf("PUT %s = %s, want request null, methods [] and order 0", one, put.body)
	}
	var up admRoute
	admDecode(t, put.body, &up)
	if up.ID != r.ID || !up.CreatedAt.Equal(r.CreatedAt) || !up.UpdatedAt.Equal(e.clock.Now()) || up.Path != "/comments/*" ||
		up.Response == nil || up.Response.Mode != "decrypt" || !slices.Equal(up.Response.Fields, []string{"text"}) {
		t.Errorf("PUT %s = %s, want the same id and created_at, updated now, response decrypt [text]", one, put.body)
	}
	if got := e.callOK("GET", one, "", 200); string(got.body) != string(put.body) {
		t.Errorf("GET %s after PUT = %s, want %s", one, got.body, put.body)
	}

	e.callOK("DELETE", one, "", 204)
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if method == "PUT" {
			body = exampleRoute
		}
		wantError(t, e.call(method, one, body), method+" "+one+" after delete", 404, "not_found")
	}
	admDecode(t, e.callOK("GET", routes, "", 200).body, &list)
	if len(list.Items) != 0 || list.Items == nil {
		t.Errorf("GET %s after delete = %+v, want items []", routes, list)
	}
}

func TestAdminRouteNotFound(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Mine"}`)
	e.classes(p.ID, "pii")
	q := e.project(`{"name":"Theirs"}`)
	r := e.route(p.ID, exampleRoute)
	cases := []struct{ name, method, path, body string }{
		{"unknown route", "GET", "/admin/v1/projects/" + p.ID + "/routes/rt_000000000000", ""},
		{"put unknown route", "PUT", "/admin/v1/projects/" + p.ID + "/routes/rt_000000000000", exampleRoute},
		{"delete unknown route", "DELETE", "/admin/v1/projects/" + p.ID + "/routes/rt_000000000000", ""},
		{"other project's route", "GET", "/admin/v1/projects/" + q.ID + "/routes/" + r.ID, ""},
		{"put other project's route", "PUT", "/admin/v1/projects/" + q.ID + "/routes/" + r.ID, exampleRoute},
		{"delete other project's route", "DELETE", "/admin/v1/projects/" + q.ID + "/routes/" + r.ID, ""},
		{"list of unknown project", "GET", "/admin/v1/projects/prj_000000000000/routes", ""},
		{"create in unknown project", "POST", "/admin/v1/projects/prj_000000000000/routes", exampleRoute},
		{"below a route", "GET", "/admin/v1/projects/" + p.ID + "/routes/" + r.ID + "/rules", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(tc.method, tc.path, tc.body), tc.method+" "+tc.path, 404, "not_found")
		})
	}
	var got admRoute
	admDecode(t, e.callOK("GET", "/admin/v1/projects/"+p.ID+"/routes/"+r.ID, "", 200).body, &got)
	if got.Path != "/posts/**" || !got.UpdatedAt.Equal(r.UpdatedAt) {
		t.Errorf("route %s after calls through another project = %+v, want it unchanged", r.ID, got)
	}
}

func TestAdminRouteMethodNotAllowed(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"M"}`)
	e.classes(p.ID, "pii")
	r := e.route(p.ID, exampleRoute)
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	cases := []struct{ method, path, wantAllow string }{
		{"PUT", routes, "GET, POST"},
		{"PATCH", routes, "GET, POST"},
		{"DELETE", routes, "GET, POST"},
		{"POST", routes + "/" + r.ID, "DELETE, GET, PUT"},
		{"PATCH", routes + "/" + r.ID, "DELETE, GET, PUT"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := e.call(tc.method, tc.path, exampleRoute)
			wantError(t, res, tc.method+" "+tc.path, 405, "method_not_allowed")
			if got := res.header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("%s %s Allow = %q, want %q", tc.method, tc.path, got, tc.wantAllow)
			}
		})
	}
	var list admPage
	admDecode(t, e.callOK("GET", routes, "", 200).body, &list)
	if len(list.Items) != 1 {
		t.Errorf("GET %s after refused methods = %d routes, want 1", routes, len(list.Items))
	}
}

func TestAdminRouteValidation(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"V"}`)
	e.classes(p.ID, "pii")
	r := e.route(p.ID, exampleRoute)
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	one := routes + "/" + r.ID
	fields := make([]string, keystore.MaxRouteFields+1)
	for i := range fields {
		fields[i] = fmt.Sprintf("f%d", i)
	}
	tooMany, _ := json.Marshal(fields)
	long := "/" + strings.Repeat("a", keystore.MaxRoutePathLen)

	cases := []struct {
		name, method, path, body string
		field                    string // the message must start with it
	}{
		{"path missing", "POST", routes, `{"response":{"fields":["a"]}}`, "path"},
		{"path relative", "POST", routes, `{"path":"posts"}`, "path"},
		{"path with query", "POST", routes, `{"path":"/posts?page=1"}`, "path"},
		{"path with fragment", "POST", routes, `{"path":"/posts#x"}`, "path"},
		{"path empty segment", "POST", routes, `{"path":"/posts//x"}`, "path"},
		{"path trailing slash", "POST", routes, `{"path":"/posts/"}`, "path"},
		{"path star in segment", "POST", routes, `{"path":"/posts/a*"}`, "path"},
		{"path too long", "POST", routes, `{"path":"` + long + `"}`, "path"},
		{"path wrong type", "POST", routes, `{"path":["/a"]}`, "path"},
		{"method not a token", "POST", routes, `{"path":"/a","methods":["GET","P OST"]}`, "methods[1]"},
		{"method empty", "POST", routes, `{"path":"/a","methods":[""]}`, "methods[0]"},
		{"methods wrong type", "POST", routes, `{"path":"/a","methods":"GET"}`, "methods"},
		{"order too big", "POST", routes, `{"path":"/a","order":2000000000}`, "order"},
		{"order not a whole number", "POST", routes, `{"path":"/a","order":1.5}`, "order"},
		{"request mode missing", "POST", routes, `{"path":"/a","request":{"fields":["a"]}}`, "request.mode"},
		{"request mode unknown", "POST", routes, `{"path":"/a","request":{"mode":"tokenize","fields":["a"]}}`, "request.mode"},
		{"response mode unknown", "POST", routes, `{"path":"/a","response":{"mode":"mask","fields":["a"]}}`, "response.mode"},
		{"request fields empty", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":[]}}`, "request.fields"},
		{"response fields missing", "POST", routes, `{"path":"/a","response":{"mode":"decrypt"}}`, "response.fields"},
		{"request field bad", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["title","a..b"]}}`, "request.fields[1]"},
		{"response field bad escape", "POST", routes, `{"path":"/a","response":{"fields":["ok","x","a\\q"]}}`, "response.fields[2]"},
		{"too many fields", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":` + string(tooMany) + `}}`, "request.fields"},
		{"classification not a slug", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["a"],"classification":"PII!"}}`, "request.classification"},
		{"response classification", "POST", routes, `{"path":"/a","response":{"fields":["a"],"classification":"pii"}}`, "response.classification"},
		{"require wildcard", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["a"],"require":["a","b.*"]}}`, "request.require[1]"},
		{"response require", "POST", routes, `{"path":"/a","response":{"fields":["a"],"require":["a"]}}`, "response.require"},
		{"unknown field", "POST", routes, `{"path":"/a","rules":[]}`, "rules"},
		{"unknown rule field", "POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["a"],"mask":true}}`, "request.mask"},
		{"put bad path", "PUT", one, `{"path":"no-slash"}`, "path"},
		{"put bad field", "PUT", one, `{"path":"/a","response":{"fields":[""]}}`, "response.fields[0]"},
		{"put request mode missing", "PUT", one, `{"path":"/a","request":{"fields":["a"]}}`, "request.mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.call(tc.method, tc.path, tc.body)
			what := tc.method + " " + tc.path + " " + tc.body
			msg := wantError(t, res, what, 400, "invalid_request")
			if !strings.HasPrefix(msg, tc.field+":") && !strings.Contains(msg, `"`+tc.field+`"`) {
				t.Errorf("%s message = %q, want it to name %q", what, msg, tc.field)
			}
		})
	}
	var list admPage
	admDecode(t, e.callOK("GET", routes, "", 200).body, &list)
	var got admRoute
	admDecode(t, list.Items[0], &got)
	if len(list.Items) != 1 || got.Path != r.Path || !got.UpdatedAt.Equal(r.UpdatedAt) {
		t.Errorf("GET %s after refused calls = %s, want the one route unchanged", routes, list.Items)
	}
}

func TestAdminRoutePaging(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Pages"}`)
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	var made []admRoute
	for i, order := range []int{20, 10, 10, 10, 10, -5, 20} {
		if i == 0 || i == 3 || i == 5 { // 0-2 share an instant, 3-4 another: ties by id
			e.clock.Advance(time.Second)
		}
		made = append(made, e.route(p.ID, fmt.Sprintf(`{"path":"/r%d","order":%d}`, i, order)))
	}
	sort.Slice(made, func(i, j int) bool {
		a, b := made[i], made[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	var want []string
	for _, r := range made {
		want = append(want, r.ID)
	}
	for _, tc := range []struct {
		limit int
		sizes []int
	}{{1, []int{1, 1, 1, 1, 1, 1, 1}}, {2, []int{2, 2, 2, 1}}, {3, []int{3, 3, 1}}, {7, []int{7}}, {100, []int{7}}} {
		t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
			ids, sizes := e.admPaginate(routes, tc.limit)
			if !slices.Equal(ids, want) {
				t.Errorf("pages of GET %s?limit=%d = %v, want %v (order, then creation, then id)", routes, tc.limit, ids, want)
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("page sizes of GET %s?limit=%d = %v, want %v", routes, tc.limit, sizes, tc.sizes)
			}
		})
	}

	t.Run("cursor survives moving the last route it saw", func(t *testing.T) {
		var pg admPage
		admDecode(t, e.callOK("GET", routes+"?limit=3", "", 200).body, &pg)
		e.callOK("PUT", routes+"/"+want[2], `{"path":"/moved","order":99}`, 200)
		var next admPage
		admDecode(t, e.callOK("GET", routes+"?cursor="+*pg.NextCursor, "", 200).body, &next)
		var ids []string
		for _, it := range next.Items {
			var v struct{ ID string }
			admDecode(t, it, &v)
			ids = append(ids, v.ID)
		}
		if !slices.Equal(ids, append(slices.Clone(want[3:]), want[2])) {
			t.Errorf("pages after the cursor once %s moved to the end = %v, want %v", want[2], ids, append(slices.Clone(want[3:]), want[2]))
		}
	})

	var projectsPage admPage
	e.project(`{"name":"Second"}`)
	admDecode(t, e.callOK("GET", "/admin/v1/projects?limit=1", "", 200).body, &projectsPage)
	for name, cursor := range map[string]string{"not base64": "!!!", "a projects cursor": *projectsPage.NextCursor, "garbage": "cjF8eA"} {
		t.Run("cursor "+name, func(t *testing.T) {
			q := routes + "?cursor=" + cursor
			if msg := wantError(t, e.call("GET", q, ""), "GET "+q, 400, "invalid_request"); !strings.Contains(msg, "cursor") {
				t.Errorf("GET %s message = %q, want it to name cursor", q, msg)
			}
		})
	}
}

// recordedEvents is an EventLog that keeps what it is given.
type recordedEvents struct {
	mu   sync.Mutex
	list []events.Event
}

func (r *recordedEvents) Record(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, e)
}

func (r *recordedEvents) Query(events.Filter) ([]events.Event, string, error) { return nil, "", nil }

func (r *recordedEvents) VerifyWith(events.VerifyOptions) (events.VerifyResult, error) {
	return events.VerifyResult{OK: true}, nil
}

func TestAdminRouteEvents(t *testing.T) {
	rec := &recordedEvents{}
	e := newAdmEnvWith(t, func(o *Options) { o.Events = rec })
	p := e.project(`{"name":"Logged"}`)
	e.classes(p.ID, "pii")
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	r := e.route(p.ID, exampleRoute)
	e.callOK("PUT", routes+"/"+r.ID, `{"path":"/articles/*","response":{"fields":["title"]}}`, 200)
	e.callOK("DELETE", routes+"/"+r.ID, "", 204)
	e.call("POST", routes, `{"path":"bad"}`)        // refused: no event
	e.call("DELETE", routes+"/"+r.ID, "")           // gone: no event
	e.call("PUT", routes+"/"+r.ID, `{"path":"/x"}`) // gone: no event

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []string
	for _, ev := range rec.list {
		if !strings.HasPrefix(ev.Type, "route.") {
			continue
		}
		got = append(got, ev.Type+" "+ev.Details["route_id"]+" "+ev.Details["path"])
		if ev.ProjectID != p.ID || ev.Actor != "admin" || ev.KeyID != nil || len(ev.Details) != 2 || ev.Time.IsZero() {
			t.Errorf("event %+v, want project %s, actor admin, no key, details route_id and path, a time", ev, p.ID)
		}
	}
	want := []string{
		events.TypeRouteCreated + " " + r.ID + " /posts/**",
		events.TypeRouteUpdated + " " + r.ID + " /articles/*",
		events.TypeRouteDeleted + " " + r.ID + " /articles/*",
	}
	if !slices.Equal(got, want) {
		t.Errorf("route events = %q, want %q", got, want)
	}
}

func TestAdminRouteErrorsTable(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("keystore.CreateRoute p: %w", keystore.ErrRouteLimit), 409, "route_limit_reached"},
		{fmt.Errorf("keystore.Route r: %w", keystore.ErrRouteNotFound), 404, "not_found"},
	}
	for _, tc := range cases {
		ae, ok := toAPIError(tc.err)
		if !ok || ae.Status != tc.status || ae.Code != tc.code {
			t.Errorf("toAPIError(%v) = %+v, %t, want %d %s", tc.err, ae, ok, tc.status, tc.code)
		}
	}
}

func TestAdminKeyDecryptMasked(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Masked"}`)
	k := e.key(p.ID, `{"permissions":["decrypt_masked"]}`)
	if !slices.Equal(k.Permissions, []string{"decrypt_masked"}) {
		t.Errorf("POST keys with decrypt_masked permissions = %q, want [decrypt_masked]", k.Permissions)
	}
	both := e.key(p.ID, `{"permissions":["encrypt","decrypt_masked"]}`)
	if !slices.Equal(both.Permissions, []string{"decrypt_masked", "encrypt"}) {
		t.Errorf("POST keys with encrypt, decrypt_masked permissions = %q, want [decrypt_masked encrypt]", both.Permissions)
	}
	pr, err := e.store.Authenticate([]byte(p.ID), []byte(k.Key))
	if err != nil || pr.CanDecrypt || pr.CanEncrypt || !pr.CanDecryptMasked {
		t.Errorf("Authenticate(decrypt_masked key) = %+v, %v, want only CanDecryptMasked", pr, err)
	}
	msg := wantError(t, e.call("POST", "/admin/v1/projects/"+p.ID+"/keys", `{"permissions":["masked"]}`), "POST keys [masked]", 400, "invalid_request")
	if !strings.HasPrefix(msg, "permissions:") || !strings.Contains(msg, "decrypt_masked") {
		t.Errorf("POST keys [masked] message = %q, want it to name permissions and list decrypt_masked", msg)
	}
}
