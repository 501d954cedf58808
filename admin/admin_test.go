package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

var (
	admKeyRE     = regexp.MustCompile(`^qk_[0-9a-z]{12}_[0-9A-Za-z]{38}$`)
	admProjectRE = regexp.MustCompile(`^prj_[0-9a-z]{12}$`)
)

func TestAdminAuth(t *testing.T) {
	e := newAdmEnv(t)
	ref := e.rawAuth("GET", "/admin/v1/projects", "", "")
	wantError(t, ref, "GET /admin/v1/projects without Authorization", 401, "unauthorized")
	refBody := bytes.ReplaceAll(ref.body, []byte(ref.header.Get(httpapi.HeaderRequestID)), []byte("<id>"))

	cases := []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"wrong token", "Bearer not-the-token", 401},
		{"token missing its last character", "Bearer " + admToken[:len(admToken)-1], 401},
		{"token with extra character", "Bearer " + admToken + "x", 401},
		{"empty bearer", "Bearer ", 401},
		{"basic scheme", "Basic " + admToken, 401},
		{"token without scheme", admToken, 401},
		{"correct token", "Bearer " + admToken, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.rawAuth("GET", "/admin/v1/projects", "", tc.auth)
			what := fmt.Sprintf("GET /admin/v1/projects with Authorization %q", tc.auth)
			if tc.want == 200 {
				e.want(r, "GET", "/admin/v1/projects", 200)
				if got := r.header.Get(httpapi.HeaderErrorCode); got != "" {
					t.Errorf("%s: header %s = %q, want none on success", what, httpapi.HeaderErrorCode, got)
				}
				return
			}
			wantError(t, r, what, tc.want, "unauthorized")
			got := bytes.ReplaceAll(r.body, []byte(r.header.Get(httpapi.HeaderRequestID)), []byte("<id>"))
			if !bytes.Equal(got, refBody) {
				t.Errorf("%s body = %s, want byte-identical to the missing-token answer %s (apart from the request id)", what, got, refBody)
			}
		})
	}

	t.Run("checked before routing", func(t *testing.T) {
		for _, p := range []string{"/admin/v1/nope", "/admin/v1/projects/prj_000000000000/keys"} {
			r := e.rawAuth("GET", p, "", "Bearer wrong")
			wantError(t, r, "GET "+p+" with a wrong token", 401, "unauthorized")
		}
	})

	t.Run("refused write has no effect", func(t *testing.T) {
		r := e.rawAuth("POST", "/admin/v1/projects", `{"name":"sneaky"}`, "Bearer wrong")
		wantError(t, r, "POST /admin/v1/projects with a wrong token", 401, "unauthorized")
		list := e.callOK("GET", "/admin/v1/projects", "", 200)
		if strings.Contains(list.String(), "sneaky") {
			t.Errorf("GET /admin/v1/projects = %s, want no project created by an unauthorized call", list)
		}
	})
}

func TestAdminHealth(t *testing.T) {
	e := newAdmEnv(t)
	cases := []struct {
		name, path string
		want       int
		wantBody   string
	}{
		{"healthz", "/healthz", 200, `{"status":"ok"}`},
		{"readyz", "/readyz", 200, `{"status":"ready"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.rawAuth("GET", tc.path, "", "")
			if r.status != tc.want || strings.TrimSpace(r.String()) != tc.wantBody {
				t.Errorf("GET %s without auth = %d %s, want %d %s", tc.path, r.status, r.body, tc.want, tc.wantBody)
			}
		})
	}
	t.Run("readyz on a closed store", func(t *testing.T) {
		e := newAdmEnv(t)
		if err := e.store.Close(); err != nil {
			t.Fatalf("Store.Close() = %v, want nil", err)
		}
		if r := e.rawAuth("GET", "/readyz", "", ""); r.status != 503 {
			t.Errorf("GET /readyz after Store.Close = %d %s, want 503", r.status, r.body)
		}
		if r := e.rawAuth("GET", "/healthz", "", ""); r.status != 200 {
			t.Errorf("GET /healthz after Store.Close = %d %s, want 200", r.status, r.body)
		}
	})
}

func TestAdminUnknownPath(t *testing.T) {
	e := newAdmEnv(t)
	cases := []struct {
		name, path string
		auth       bool
	}{
		{"root", "/", false},
		{"other version", "/admin/v2/projects", false},
		{"admin prefix only", "/admin", false},
		{"empty rest", "/admin/v1/", true},
		{"unknown collection", "/admin/v1/widgets", true},
		{"unknown project subresource", "/admin/v1/projects/prj_000000000000/widgets", true},
		{"too deep under keys", "/admin/v1/projects/prj_000000000000/keys/qk_000000000000/revoke/now", true},
		{"unknown key action", "/admin/v1/projects/prj_000000000000/keys/qk_000000000000/destroy", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r admResp
			if tc.auth {
				r = e.call("GET", tc.path, "")
			} else {
				r = e.rawAuth("GET", tc.path, "", "")
			}
			wantError(t, r, "GET "+tc.path, 404, "not_found")
		})
	}
}

func TestAdminProjectCreate(t *testing.T) {
	e := newAdmEnv(t)
	cases := []struct {
		name string
		body string
		want admProject
	}{
		{
			name: "defaults",
			body: `{"name":"Orders"}`,
			want: admProject{Name: "Orders", Environment: "development", Destinations: []string{}, MaxActiveKeys: 10},
		},
		{
			name: "every field",
			body: `{"name":"  Payments ","environment":"production","upstream":"https://Orders.Internal:9000/api/",
				"destinations":["https://api.partner.example","http://Other.example:8080/x"],
				"rate_limit":{"requests_per_second":5.5,"burst":10},"max_active_keys":3}`,
			want: admProject{
				Name: "Payments", Environment: "production", Upstream: "https://orders.internal:9000/api",
				Destinations:  []string{"https://api.partner.example:443", "http://other.example:8080"},
				MaxActiveKeys: 3,
			},
		},
		{
			name: "staging",
			body: `{"name":"S","environment":"staging"}`,
			want: admProject{Name: "S", Environment: "staging", Destinations: []string{}, MaxActiveKeys: 10},
		},
	}
	cases[0].want.RateLimit.RequestsPerSecond, cases[0].want.RateLimit.Burst = 100, 200
	cases[1].want.RateLimit.RequestsPerSecond, cases[1].want.RateLimit.Burst = 5.5, 10
	cases[2].want.RateLimit.RequestsPerSecond, cases[2].want.RateLimit.Burst = 100, 200
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.callOK("POST", "/admin/v1/projects", tc.body, 201)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("POST /admin/v1/projects Content-Type = %q, want application/json", ct)
			}
			m := admMembers(t, r.body)
			for _, name := range []string{"id", "name", "environment", "upstream", "destinations", "rate_limit", "max_active_keys", "created_at", "updated_at"} {
				if _, ok := m[name]; !ok {
					t.Errorf("POST /admin/v1/projects %s = %s, want member %q", tc.body, r.body, name)
				}
			}
			if got, want := string(m["created_at"]), `"2026-03-04T05:06:07Z"`; got != want {
				t.Errorf("POST /admin/v1/projects created_at = %s, want %s (RFC 3339 UTC of the injected clock)", got, want)
			}
			if got := string(m["destinations"]); tc.want.Destinations != nil && len(tc.want.Destinations) == 0 && got != "[]" {
				t.Errorf("POST /admin/v1/projects destinations = %s, want []", got)
			}
			var p admProject
			admDecode(t, r.body, &p)
			if !admProjectRE.MatchString(p.ID) {
				t.Errorf("POST /admin/v1/projects id = %q, want match %s", p.ID, admProjectRE)
			}
			tc.want.ID, tc.want.CreatedAt, tc.want.UpdatedAt = p.ID, testclock.Start, testclock.Start
			if !admSameProject(p, tc.want) {
				t.Errorf("POST /admin/v1/projects %s = %+v, want %+v", tc.body, p, tc.want)
			}
			g := e.callOK("GET", "/admin/v1/projects/"+p.ID, "", 200)
			if !bytes.Equal(g.body, r.body) {
				t.Errorf("GET /admin/v1/projects/%s = %s, want the create answer %s", p.ID, g.body, r.body)
			}
		})
	}
}

func admSameProject(a, b admProject) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Environment == b.Environment && a.Upstream == b.Upstream &&
		slices.Equal(a.Destinations, b.Destinations) && a.RateLimit == b.RateLimit &&
		a.MaxActiveKeys == b.MaxActiveKeys && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestAdminProjectUpdate(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Orders","upstream":"http://orders.internal","rate_limit":{"requests_per_second":5,"burst":6}}`)
	path := "/admin/v1/projects/" + p.ID

	cases := []struct {
		name   string
		body   string
		change func(*admProject)
	}{
		{"name only", `{"name":"Renamed"}`, func(p *admProject) { p.Name = "Renamed" }},
		{"rate limit only", `{"rate_limit":{"requests_per_second":7,"burst":9}}`, func(p *admProject) {
			p.RateLimit.RequestsPerSecond, p.RateLimit.Burst = 7, 9
		}},
		{"clear upstream", `{"upstream":""}`, func(p *admProject) { p.Upstream = "" }},
		{"destinations", `{"destinations":["https://a.example"]}`, func(p *admProject) { p.Destinations = []string{"https://a.example:443"} }},
		{"max active keys", `{"max_active_keys":4}`, func(p *admProject) { p.MaxActiveKeys = 4 }},
		{"same environment is no change", `{"environment":"development"}`, func(*admProject) {}},
		{"empty body changes nothing", ``, func(*admProject) {}},
	}
	want := p
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(time.Minute)
			r := e.callOK("PATCH", path, tc.body, 200)
			var got admProject
			admDecode(t, r.body, &got)
			tc.change(&want)
			want.UpdatedAt = e.clock.Now()
			if !admSameProject(got, want) {
				t.Errorf("PATCH %s %s = %+v, want %+v", path, tc.body, got, want)
			}
			var stored admProject
			admDecode(t, e.callOK("GET", path, "", 200).body, &stored)
			if !admSameProject(stored, want) {
				t.Errorf("GET %s after PATCH %s = %+v, want %+v", path, tc.body, stored, want)
			}
		})
	}

	t.Run("environment change refused", func(t *testing.T) {
		for _, body := range []string{`{"environment":"production"}`, `{"name":"Changed","environment":"staging"}`} {
			r := e.call("PATCH", path, body)
			msg := wantError(t, r, "PATCH "+path+" "+body, 400, "invalid_request")
			if !strings.Contains(msg, "environment") {
				t.Errorf("PATCH %s %s message = %q, want it to name environment", path, body, msg)
			}
		}
		var stored admProject
		admDecode(t, e.callOK("GET", path, "", 200).body, &stored)
		if !admSameProject(stored, want) {
			t.Errorf("GET %s after refused PATCHes = %+v, want unchanged %+v", path, stored, want)
		}
	})
}

func TestAdminProjectDelete(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Doomed"}`)
	keep := e.project(`{"name":"Kept"}`)
	k := e.key(p.ID, `{}`)
	path := "/admin/v1/projects/" + p.ID

	r := e.callOK("DELETE", path, "", 204)
	if len(r.body) != 0 {
		t.Errorf("DELETE %s body = %q, want empty", path, r.body)
	}
	if _, err := e.store.Authenticate([]byte(p.ID), []byte(k.Key)); !errors.Is(err, keystore.ErrUnauthorized) {
		t.Errorf("Store.Authenticate(deleted project, its key) = %v, want %v", err, keystore.ErrUnauthorized)
	}
	cases := []struct{ method, path, body string }{
		{"GET", path, ""},
		{"PATCH", path, `{"name":"back"}`},
		{"DELETE", path, ""},
		{"GET", path + "/keys", ""},
		{"GET", path + "/keys/" + k.ID, ""},
		{"POST", path + "/keys", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+strings.TrimPrefix(tc.path, path), func(t *testing.T) {
			wantError(t, e.call(tc.method, tc.path, tc.body), tc.method+" "+tc.path+" after delete", 404, "not_found")
		})
	}
	list := e.callOK("GET", "/admin/v1/projects", "", 200)
	if strings.Contains(list.String(), p.ID) || !strings.Contains(list.String(), keep.ID) {
		t.Errorf("GET /admin/v1/projects after delete = %s, want %s gone and %s kept", list, p.ID, keep.ID)
	}
}

// admPaginate follows next_cursor with ?limit=limit and returns the ids in
// order and the size of each page.
func (e *admEnv) admPaginate(path string, limit int) (ids []string, sizes []int) {
	e.t.Helper()
	cursor := ""
	for range 100 {
		q := fmt.Sprintf("%s?limit=%d", path, limit)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := e.callOK("GET", q, "", 200)
		m := admMembers(e.t, r.body)
		if _, ok := m["next_cursor"]; !ok {
			e.t.Fatalf("GET %s = %s, want a next_cursor member", q, r.body)
		}
		var pg admPage
		admDecode(e.t, r.body, &pg)
		if pg.Items == nil {
			e.t.Fatalf("GET %s = %s, want items to be an array", q, r.body)
		}
		sizes = append(sizes, len(pg.Items))
		for _, it := range pg.Items {
			var v struct{ ID string }
			admDecode(e.t, it, &v)
			ids = append(ids, v.ID)
		}
		if pg.NextCursor == nil {
			return ids, sizes
		}
		cursor = *pg.NextCursor
	}
	e.t.Fatalf("GET %s?limit=%d: more than 100 pages, want next_cursor to end", path, limit)
	return nil, nil
}

func TestAdminProjectListPagination(t *testing.T) {
	e := newAdmEnv(t)
	type entry struct {
		at time.Time
		id string
	}
	var made []entry
	for i := range 5 {
		if i < 3 { // the last three share one instant: ordered by id
			e.clock.Advance(time.Second)
		}
		p := e.project(fmt.Sprintf(`{"name":"p%d"}`, i))
		made = append(made, entry{p.CreatedAt, p.ID})
	}
	sort.Slice(made, func(i, j int) bool {
		if !made[i].at.Equal(made[j].at) {
			return made[i].at.Before(made[j].at)
		}
		return made[i].id < made[j].id
	})
	var want []string
	for _, m := range made {
		want = append(want, m.id)
	}

	cases := []struct {
		limit     int
		wantSizes []int
	}{
		{1, []int{1, 1, 1, 1, 1}},
		{2, []int{2, 2, 1}},
		{3, []int{3, 2}},
		{5, []int{5}},
		{100, []int{5}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
			ids, sizes := e.admPaginate("/admin/v1/projects", tc.limit)
			if !slices.Equal(ids, want) {
				t.Errorf("pages of GET /admin/v1/projects?limit=%d = %v, want %v (oldest first, each once)", tc.limit, ids, want)
			}
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("page sizes of GET /admin/v1/projects?limit=%d = %v, want %v", tc.limit, sizes, tc.wantSizes)
			}
		})
	}

	t.Run("cursor survives deleting the last item it saw", func(t *testing.T) {
		var pg admPage
		admDecode(t, e.callOK("GET", "/admin/v1/projects?limit=2", "", 200).body, &pg)
		if pg.NextCursor == nil {
			t.Fatalf("GET /admin/v1/projects?limit=2 next_cursor = null, want a cursor")
		}
		e.callOK("DELETE", "/admin/v1/projects/"+want[1], "", 204)
		var next admPage
		admDecode(t, e.callOK("GET", "/admin/v1/projects?limit=2&cursor="+*pg.NextCursor, "", 200).body, &next)
		var got []string
		for _, it := range next.Items {
			var v struct{ ID string }
			admDecode(t, it, &v)
			got = append(got, v.ID)
		}
		if !slices.Equal(got, want[2:4]) {
			t.Errorf("second page after deleting %s = %v, want %v", want[1], got, want[2:4])
		}
	})

	bad := []struct{ name, query, field string }{
		{"limit zero", "limit=0", "limit"},
		{"limit negative", "limit=-1", "limit"},
		{"limit too big", "limit=1001", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"cursor not base64", "cursor=!!!", "cursor"},
		{"cursor not ours", "cursor=aGVsbG8", "cursor"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := "/admin/v1/projects?" + tc.query
			msg := wantError(t, e.call("GET", p, ""), "GET "+p, 400, "invalid_request")
			if !strings.Contains(msg, tc.field) {
				t.Errorf("GET %s message = %q, want it to name %s", p, msg, tc.field)
			}
		})
	}
}

func TestAdminValidation(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Valid"}`)
	k := e.key(p.ID, `{}`)
	projects := "/admin/v1/projects"
	project := projects + "/" + p.ID
	keys := project + "/keys"
	rotate := keys + "/" + k.ID + "/rotate"
	long := strings.Repeat("n", 201)

	cases := []struct {
		name, method, path, body string
		field                    string // the message must contain it
	}{
		{"upstream not a URL", "POST", projects, `{"name":"a","upstream":"not a url"}`, "upstream"},
		{"upstream not http", "POST", projects, `{"name":"a","upstream":"ftp://files.example"}`, "upstream"},
		{"upstream with query", "POST", projects, `{"name":"a","upstream":"http://x.example/?a=1"}`, "upstream"},
		{"upstream with credentials", "POST", projects, `{"name":"a","upstream":"http://u:p@x.example"}`, "upstream"},
		{"destination not a URL", "POST", projects, `{"name":"a","destinations":["api.example"]}`, "destinations"},
		{"rate zero", "POST", projects, `{"name":"a","rate_limit":{"requests_per_second":0,"burst":10}}`, "rate_limit.requests_per_second"},
		{"rate negative", "POST", projects, `{"name":"a","rate_limit":{"requests_per_second":-5,"burst":10}}`, "rate_limit.requests_per_second"},
		{"burst zero", "POST", projects, `{"name":"a","rate_limit":{"requests_per_second":5,"burst":0}}`, "rate_limit.burst"},
		{"burst negative", "POST", projects, `{"name":"a","rate_limit":{"requests_per_second":5,"burst":-1}}`, "rate_limit.burst"},
		{"max active keys zero", "POST", projects, `{"name":"a","max_active_keys":0}`, "max_active_keys"},
		{"max active keys negative", "POST", projects, `{"name":"a","max_active_keys":-3}`, "max_active_keys"},
		{"name missing", "POST", projects, `{}`, "name"},
		{"name blank", "POST", projects, `{"name":"   "}`, "name"},
		{"name too long", "POST", projects, `{"name":"` + long + `"}`, "name"},
		{"environment unknown", "POST", projects, `{"name":"a","environment":"prod"}`, "environment"},
		{"unknown field", "POST", projects, `{"name":"a","colour":"red"}`, "colour"},
		{"wrong type", "POST", projects, `{"name":5}`, "name"},
		{"wrong nested type", "POST", projects, `{"name":"a","rate_limit":{"requests_per_second":"fast","burst":1}}`, "rate_limit.requests_per_second"},
		{"wrong type int", "POST", projects, `{"name":"a","max_active_keys":"ten"}`, "max_active_keys"},
		{"not JSON", "POST", projects, `{"name":`, "JSON"},
		{"two objects", "POST", projects, `{"name":"a"}{"name":"b"}`, "one JSON object"},
		{"patch rate zero", "PATCH", project, `{"rate_limit":{"requests_per_second":0,"burst":1}}`, "rate_limit.requests_per_second"},
		{"patch bad upstream", "PATCH", project, `{"upstream":"//no-scheme"}`, "upstream"},
		{"patch unknown field", "PATCH", project, `{"nmae":"typo"}`, "nmae"},
		{"patch wrong type", "PATCH", project, `{"destinations":"https://a.example"}`, "destinations"},
		{"patch blank name", "PATCH", project, `{"name":""}`, "name"},
		{"key unknown permission", "POST", keys, `{"permissions":["encrypt","admin"]}`, "permissions"},
		{"key permissions wrong type", "POST", keys, `{"permissions":"encrypt"}`, "permissions"},
		{"key unknown field", "POST", keys, `{"scopes":["encrypt"]}`, "scopes"},
		{"key expiry in the past", "POST", keys, `{"expires_at":"2020-01-01T00:00:00Z"}`, "expires_at"},
		{"key expiry now", "POST", keys, `{"expires_at":"2026-03-04T05:06:07Z"}`, "expires_at"},
		{"key expiry not a time", "POST", keys, `{"expires_at":"tomorrow"}`, "expires_at"},
		{"key bad classification", "POST", keys, `{"classifications":["Not A Slug"]}`, "classifications"},
		{"key name too long", "POST", keys, `{"name":"` + long + `"}`, "name"},
		{"rotate grace not a duration", "POST", rotate, `{"grace_period":"soon"}`, "grace_period"},
		{"rotate grace negative", "POST", rotate, `{"grace_period":"-1h"}`, "grace_period"},
		{"rotate grace wrong type", "POST", rotate, `{"grace_period":3600}`, "grace_period"},
		{"rotate unknown field", "POST", rotate, `{"grace":"1h"}`, "grace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, tc.body)
			what := tc.method + " " + tc.path + " " + tc.body
			msg := wantError(t, r, what, 400, "invalid_request")
			if !strings.Contains(msg, tc.field) {
				t.Errorf("%s message = %q, want it to name %q", what, msg, tc.field)
			}
		})
	}

	// Nothing refused above may have changed the store.
	var got admProject
	admDecode(t, e.callOK("GET", project, "", 200).body, &got)
	if !admSameProject(got, p) {
		t.Errorf("GET %s after refused calls = %+v, want unchanged %+v", project, got, p)
	}
	var list admPage
	admDecode(t, e.callOK("GET", projects, "", 200).body, &list)
	if len(list.Items) != 1 {
		t.Errorf("GET %s after refused creates has %d items, want 1", projects, len(list.Items))
	}
	if old := e.getKey(p.ID, k.ID); old.Status != "active" || old.ExpiresAt != nil || old.RotatedTo != "" {
		t.Errorf("key %s after refused rotations = %+v, want active, not rotated", k.ID, old)
	}
}

func TestAdminMethodNotAllowed(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"M"}`)
	k := e.key(p.ID, `{}`)
	keyPath := "/admin/v1/projects/" + p.ID + "/keys/" + k.ID
	cases := []struct {
		name, method, path, wantAllow string
	}{
		{"put projects", "PUT", "/admin/v1/projects", "GET, POST"},
		{"delete projects", "DELETE", "/admin/v1/projects", "GET, POST"},
		{"post project", "POST", "/admin/v1/projects/" + p.ID, "DELETE, GET, PATCH"},
		{"put keys", "PUT", "/admin/v1/projects/" + p.ID + "/keys", "GET, POST"},
		{"delete key", "DELETE", keyPath, "GET, PATCH"},
		{"get revoke", "GET", keyPath + "/revoke", "POST"},
		{"get rotate", "GET", keyPath + "/rotate", "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, "")
			wantError(t, r, tc.method+" "+tc.path, 405, "method_not_allowed")
			if got := r.header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("%s %s Allow = %q, want %q", tc.method, tc.path, got, tc.wantAllow)
			}
		})
	}
	if got := e.getKey(p.ID, k.ID); got.Status != "active" {
		t.Errorf("key after refused methods status = %q, want active", got.Status)
	}
}

func TestAdminKeyCreate(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"K","max_active_keys":100}`)
	e.classes(p.ID, "pii", "card")
	path := "/admin/v1/projects/" + p.ID + "/keys"
	expiry := testclock.Start.Add(48 * time.Hour)

	cases := []struct {
		name            string
		body            string
		wantName        string
		wantPerms       []string
		wantClasses     []string
		wantExpiresAt   *time.Time
		wantExpiresJSON string
	}{
		{"empty body", ``, "", []string{"decrypt", "encrypt"}, []string{}, nil, "null"},
		{"defaults", `{"name":" checkout "}`, "checkout", []string{"decrypt", "encrypt"}, []string{}, nil, "null"},
		{"encrypt only, normalised", `{"permissions":["ENCRYPT"," encrypt "]}`, "", []string{"encrypt"}, []string{}, nil, "null"},
		{"classifications and expiry", `{"classifications":["pii","pii","card"],"expires_at":"2026-03-06T07:06:07+02:00"}`,
			"", []string{"decrypt", "encrypt"}, []string{"pii", "card"}, &expiry, `"2026-03-06T05:06:07Z"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.callOK("POST", path, tc.body, 201)
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("POST %s Cache-Control = %q, want no-store", path, got)
			}
			m := admMembers(t, r.body)
			for _, name := range []string{"id", "key", "project_id", "name", "status", "permissions", "classifications", "created_at", "last_used_at", "revoked_at", "expires_at"} {
				if _, ok := m[name]; !ok {
					t.Errorf("POST %s = %s, want member %q", path, r.body, name)
				}
			}
			for name, want := range map[string]string{"last_used_at": "null", "revoked_at": "null", "expires_at": tc.wantExpiresJSON, "created_at": `"2026-03-04T05:06:07Z"`} {
				if got := string(m[name]); got != want {
					t.Errorf("POST %s %s = %s, want %s", path, name, got, want)
				}
			}
			var k admKey
			admDecode(t, r.body, &k)
			if !admKeyRE.MatchString(k.Key) {
				t.Errorf("POST %s key = %q, want match %s", path, k.Key, admKeyRE)
			}
			if i := strings.LastIndex(k.Key, "_"); i < 0 || k.ID != k.Key[:i] {
				t.Errorf("POST %s id = %q, want the key %q up to its last underscore", path, k.ID, k.Key)
			}
			if k.ProjectID != p.ID || k.Status != "active" || k.Name != tc.wantName {
				t.Errorf("POST %s = {project_id %q status %q name %q}, want {%q active %q}", path, k.ProjectID, k.Status, k.Name, p.ID, tc.wantName)
			}
			if !slices.Equal(slices.Sorted(slices.Values(k.Permissions)), tc.wantPerms) || !slices.Equal(k.Classifications, tc.wantClasses) {
				t.Errorf("POST %s permissions, classifications = %q, %q, want %q, %q", path, k.Permissions, k.Classifications, tc.wantPerms, tc.wantClasses)
			}
			if (k.ExpiresAt == nil) != (tc.wantExpiresAt == nil) || k.ExpiresAt != nil && !k.ExpiresAt.Equal(*tc.wantExpiresAt) {
				t.Errorf("POST %s expires_at = %v, want %v", path, k.ExpiresAt, tc.wantExpiresAt)
			}
		})
	}
}

// Permissions are a set; the API shows them in one order whether they were
// given or defaulted (docs/admin-api.md shows ["decrypt", "encrypt"]).
func TestAdminKeyPermissionsOrder(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Order"}`)
	explicit := e.key(p.ID, `{"permissions":["encrypt","decrypt"]}`)
	cases := []struct{ name, body string }{
		{"defaulted", `{}`},
		{"explicit reversed", `{"permissions":["decrypt","encrypt"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := e.key(p.ID, tc.body)
			if !slices.Equal(k.Permissions, explicit.Permissions) {
				t.Errorf("POST keys %s permissions = %q, want %q as for {\"permissions\":[\"encrypt\",\"decrypt\"]}", tc.body, k.Permissions, explicit.Permissions)
			}
			if g := e.getKey(p.ID, k.ID); !slices.Equal(g.Permissions, explicit.Permissions) {
				t.Errorf("GET key created with %s permissions = %q, want %q", tc.body, g.Permissions, explicit.Permissions)
			}
		})
	}
}

func TestAdminKeySecretShownOnce(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Secrets"}`)
	k := e.key(p.ID, `{"name":"one"}`)
	other := e.key(p.ID, `{"name":"two"}`)
	secret := k.Key[len(k.ID)+1:]
	base := "/admin/v1/projects/" + p.ID + "/keys"

	cases := []struct {
		name, method, path string
		mayHoldKey         bool // the answer carries another key's "key"
	}{
		{"list", "GET", base, false},
		{"list active", "GET", base + "?status=active", false},
		{"get", "GET", base + "/" + k.ID, false},
		{"rotate another key", "POST", base + "/" + other.ID + "/rotate", true},
		{"revoke", "POST", base + "/" + k.ID + "/revoke", false},
		{"list revoked", "GET", base + "?status=revoked", false},
		{"get after revoke", "GET", base + "/" + k.ID, false},
		{"project", "GET", "/admin/v1/projects/" + p.ID, false},
		{"projects", "GET", "/admin/v1/projects", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, "")
			if r.status >= 300 {
				t.Fatalf("%s %s = %d %s, want success", tc.method, tc.path, r.status, r.body)
			}
			if bytes.Contains(r.body, []byte(secret)) {
				t.Errorf("%s %s = %s, want no trace of the secret of %s", tc.method, tc.path, r.body, k.ID)
			}
			if !tc.mayHoldKey && bytes.Contains(r.body, []byte(`"key"`)) {
				t.Errorf("%s %s = %s, want no \"key\" member", tc.method, tc.path, r.body)
			}
		})
	}
}

func TestAdminKeyLimit(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Cap"}`)
	path := "/admin/v1/projects/" + p.ID + "/keys"
	var keys []admKey
	for range 10 {
		keys = append(keys, e.key(p.ID, `{}`))
	}
	steps := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{"11th active key", "POST", path, 409},
		{"revoke one", "POST", path + "/" + keys[0].ID + "/revoke", 200},
		{"revoking freed a slot", "POST", path, 201},
		{"cap reached again", "POST", path, 409},
		{"rotate at the cap", "POST", path + "/" + keys[1].ID + "/rotate", 201},
		{"rotation does not free a slot", "POST", path, 409},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := e.call(st.method, st.path, "")
			if st.wantStatus == 409 {
				wantError(t, r, st.method+" "+st.path, 409, "key_limit_reached")
				return
			}
			e.want(r, st.method, st.path, st.wantStatus)
		})
	}
	var active admPage
	admDecode(t, e.callOK("GET", path+"?status=active", "", 200).body, &active)
	if len(active.Items) != 11 { // ten counting against the cap, one rotated in its grace period
		t.Errorf("GET %s?status=active has %d items, want 11 (10 + 1 rotated in grace)", path, len(active.Items))
	}
}

func TestAdminMaxActiveKeys(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Two","max_active_keys":2}`)
	path := "/admin/v1/projects/" + p.ID + "/keys"
	steps := []struct {
		name       string
		method     string
		path, body string
		wantStatus int
	}{
		{"first", "POST", path, `{}`, 201},
		{"second", "POST", path, `{"expires_at":"2026-03-04T06:06:07Z"}`, 201},
		{"third refused", "POST", path, `{}`, 409},
		{"raise the cap", "PATCH", "/admin/v1/projects/" + p.ID, `{"max_active_keys":3}`, 200},
		{"third after raising", "POST", path, `{}`, 201},
		{"fourth refused", "POST", path, `{}`, 409},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := e.call(st.method, st.path, st.body)
			if st.wantStatus == 409 {
				wantError(t, r, st.method+" "+st.path, 409, "key_limit_reached")
				return
			}
			e.want(r, st.method, st.path, st.wantStatus)
		})
	}
	t.Run("an expired key frees its slot", func(t *testing.T) {
		e.clock.Advance(time.Hour) // the second key expires now
		e.callOK("POST", path, `{}`, 201)
		wantError(t, e.call("POST", path, `{}`), "POST "+path+" at the cap again", 409, "key_limit_reached")
	})
}

func TestAdminKeyLimitConcurrent(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Race","max_active_keys":5}`)
	path := "/admin/v1/projects/" + p.ID + "/keys"
	const n = 20
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.send("POST", path, `{}`, "Bearer "+admToken)
			statuses[i], errs[i] = r.status, err
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent POST %s: %v", path, errs[i])
		}
		count[statuses[i]]++
	}
	if count[201] != 5 || count[409] != n-5 {
		t.Errorf("%d concurrent POST %s = %v (status: count), want 5 × 201 and %d × 409", n, path, count, n-5)
	}
	var all admPage
	admDecode(t, e.callOK("GET", path, "", 200).body, &all)
	if len(all.Items) != 5 {
		t.Errorf("GET %s has %d keys, want 5", path, len(all.Items))
	}
}

func TestAdminKeyRevoke(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Revoke"}`)
	k := e.key(p.ID, `{"name":"gone"}`)
	kept := e.key(p.ID, `{"name":"kept"}`)
	base := "/admin/v1/projects/" + p.ID + "/keys"
	path := base + "/" + k.ID + "/revoke"

	e.clock.Advance(time.Minute)
	revokedAt := e.clock.Now()
	r := e.callOK("POST", path, "", 200)
	var got admKey
	admDecode(t, r.body, &got)
	if got.ID != k.ID || got.Status != "revoked" || got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("POST %s = {id %q status %q revoked_at %v}, want {%q revoked %v}", path, got.ID, got.Status, got.RevokedAt, k.ID, revokedAt)
	}
	if _, err := e.store.Authenticate([]byte(p.ID), []byte(k.Key)); !errors.Is(err, keystore.ErrUnauthorized) {
		t.Errorf("Store.Authenticate(revoked key) right after the revoke answer = %v, want %v", err, keystore.ErrUnauthorized)
	}

	t.Run("revoking again keeps the first time", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		var again admKey
		admDecode(t, e.callOK("POST", path, "", 200).body, &again)
		if again.Status != "revoked" || again.RevokedAt == nil || !again.RevokedAt.Equal(revokedAt) {
			t.Errorf("POST %s again = {status %q revoked_at %v}, want {revoked %v}", path, again.Status, again.RevokedAt, revokedAt)
		}
	})

	filters := []struct {
		status string
		want   []string
	}{
		{"", []string{k.ID, kept.ID}},
		{"revoked", []string{k.ID}},
		{"active", []string{kept.ID}},
		{"expired", nil},
	}
	for _, f := range filters {
		t.Run("list status="+f.status, func(t *testing.T) {
			q := base
			if f.status != "" {
				q += "?status=" + f.status
			}
			var pg admPage
			admDecode(t, e.callOK("GET", q, "", 200).body, &pg)
			var ids []string
			for _, it := range pg.Items {
				var v admKey
				admDecode(t, it, &v)
				ids = append(ids, v.ID)
				if f.status != "" && v.Status != f.status {
					t.Errorf("GET %s item %s status = %q, want %q", q, v.ID, v.Status, f.status)
				}
			}
			sort.Strings(ids)
			want := slices.Clone(f.want)
			sort.Strings(want)
			if !slices.Equal(ids, want) {
				t.Errorf("GET %s ids = %v, want %v", q, ids, want)
			}
		})
	}
	if g := e.getKey(p.ID, kept.ID); g.Status != "active" || g.RevokedAt != nil {
		t.Errorf("other key after revoke = {status %q revoked_at %v}, want {active <nil>}", g.Status, g.RevokedAt)
	}
}

func TestAdminKeyRotate(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		wantGrace time.Duration
	}{
		{"one hour", `{"grace_period":"1h"}`, time.Hour},
		{"default 24h", ``, 24 * time.Hour},
		{"zero ends the old key at once", `{"grace_period":"0s"}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdmEnv(t)
			p := e.project(`{"name":"Rotate"}`)
			e.classes(p.ID, "pii")
			old := e.key(p.ID, `{"name":"svc","permissions":["encrypt"],"classifications":["pii"]}`)
			e.clock.Advance(10 * time.Minute)
			rotatedAt := e.clock.Now()
			path := "/admin/v1/projects/" + p.ID + "/keys/" + old.ID + "/rotate"

			r := e.callOK("POST", path, tc.body, 201)
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("POST %s Cache-Control = %q, want no-store", path, got)
			}
			var nk admKey
			admDecode(t, r.body, &nk)
			if !admKeyRE.MatchString(nk.Key) || nk.ID == old.ID || !strings.HasPrefix(nk.Key, nk.ID+"_") {
				t.Errorf("POST %s = {id %q key %q}, want a new key matching %s", path, nk.ID, nk.Key, admKeyRE)
			}
			if nk.Status != "active" || nk.Name != "svc" || !slices.Equal(nk.Permissions, []string{"encrypt"}) || !slices.Equal(nk.Classifications, []string{"pii"}) {
				t.Errorf("POST %s = %+v, want an active key named svc with the old key's permissions and classifications", path, nk)
			}

			wantEnd := rotatedAt.Add(tc.wantGrace)
			wantStatus := "active"
			if tc.wantGrace == 0 {
				wantStatus = "expired"
			}
			g := e.getKey(p.ID, old.ID)
			if g.ExpiresAt == nil || !g.ExpiresAt.Equal(wantEnd) || g.Status != wantStatus || g.RotatedTo != nk.ID {
				t.Errorf("GET old key after rotate = {expires_at %v status %q rotated_to %q}, want {%v %s %q}", g.ExpiresAt, g.Status, g.RotatedTo, wantEnd, wantStatus, nk.ID)
			}
			_, err := e.store.Authenticate([]byte(p.ID), []byte(old.Key))
			if tc.wantGrace > 0 && err != nil {
				t.Errorf("Store.Authenticate(old key) during the grace period = %v, want nil", err)
			}
			if _, err := e.store.Authenticate([]byte(p.ID), []byte(nk.Key)); err != nil {
				t.Errorf("Store.Authenticate(new key) = %v, want nil", err)
			}

			e.clock.Advance(tc.wantGrace)
			if g := e.getKey(p.ID, old.ID); g.Status != "expired" {
				t.Errorf("GET old key at rotation + grace status = %q, want expired", g.Status)
			}
			if _, err := e.store.Authenticate([]byte(p.ID), []byte(old.Key)); !errors.Is(err, keystore.ErrUnauthorized) {
				t.Errorf("Store.Authenticate(old key) after the grace period = %v, want %v", err, keystore.ErrUnauthorized)
			}
			if _, err := e.store.Authenticate([]byte(p.ID), []byte(nk.Key)); err != nil {
				t.Errorf("Store.Authenticate(new key) after the grace period = %v, want nil", err)
			}
			msg := wantError(t, e.call("POST", path, ``), "POST "+path+" a second time", 400, "invalid_request")
			if !strings.Contains(msg, "key") {
				t.Errorf("POST %s a second time message = %q, want it to name key", path, msg)
			}
		})
	}

	t.Run("revoked key cannot be rotated", func(t *testing.T) {
		e := newAdmEnv(t)
		p := e.project(`{"name":"R"}`)
		k := e.key(p.ID, `{}`)
		base := "/admin/v1/projects/" + p.ID + "/keys/" + k.ID
		e.callOK("POST", base+"/revoke", "", 200)
		wantError(t, e.call("POST", base+"/rotate", ``), "POST "+base+"/rotate of a revoked key", 400, "invalid_request")
		var all admPage
		admDecode(t, e.callOK("GET", "/admin/v1/projects/"+p.ID+"/keys", "", 200).body, &all)
		if len(all.Items) != 1 {
			t.Errorf("keys after a refused rotation = %d, want 1", len(all.Items))
		}
	})
}

func TestAdminNotFound(t *testing.T) {
	e := newAdmEnv(t)
	a := e.project(`{"name":"A"}`)
	b := e.project(`{"name":"B"}`)
	ka := e.key(a.ID, `{}`)
	const unknownProject = "prj_000000000000"
	const unknownKey = "qk_000000000000"
	pa := "/admin/v1/projects/" + a.ID
	pb := "/admin/v1/projects/" + b.ID
	cases := []struct{ name, method, path, body string }{
		{"get unknown project", "GET", "/admin/v1/projects/" + unknownProject, ""},
		{"patch unknown project", "PATCH", "/admin/v1/projects/" + unknownProject, `{"name":"x"}`},
		{"delete unknown project", "DELETE", "/admin/v1/projects/" + unknownProject, ""},
		{"keys of unknown project", "GET", "/admin/v1/projects/" + unknownProject + "/keys", ""},
		{"create key in unknown project", "POST", "/admin/v1/projects/" + unknownProject + "/keys", `{}`},
		{"get unknown key", "GET", pa + "/keys/" + unknownKey, ""},
		{"get malformed key id", "GET", pa + "/keys/nope", ""},
		{"revoke unknown key", "POST", pa + "/keys/" + unknownKey + "/revoke", ""},
		{"rotate unknown key", "POST", pa + "/keys/" + unknownKey + "/rotate", ""},
		{"get key through another project", "GET", pb + "/keys/" + ka.ID, ""},
		{"revoke key through another project", "POST", pb + "/keys/" + ka.ID + "/revoke", ""},
		{"rotate key through another project", "POST", pb + "/keys/" + ka.ID + "/rotate", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(tc.method, tc.path, tc.body), tc.method+" "+tc.path, 404, "not_found")
		})
	}
	if g := e.getKey(a.ID, ka.ID); g.Status != "active" || g.ExpiresAt != nil {
		t.Errorf("key of A after calls through B = {status %q expires_at %v}, want {active <nil>}", g.Status, g.ExpiresAt)
	}
}

func TestAdminStoreAuthenticate(t *testing.T) {
	e := newAdmEnv(t)
	a := e.project(`{"name":"A"}`)
	b := e.project(`{"name":"B"}`)
	k := e.key(a.ID, `{"permissions":["decrypt"]}`)
	tampered := []byte(k.Key)
	tampered[len(tampered)-10] ^= 1

	cases := []struct {
		name    string
		project string
		key     []byte
		wantOK  bool
	}{
		{"own project", a.ID, []byte(k.Key), true},
		{"other project", b.ID, []byte(k.Key), false},
		{"unknown project", "prj_000000000000", []byte(k.Key), false},
		{"tampered secret", a.ID, tampered, false},
		{"key id only", a.ID, []byte(k.ID), false},
		{"empty", a.ID, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := e.store.Authenticate([]byte(tc.project), tc.key)
			if !tc.wantOK {
				if !errors.Is(err, keystore.ErrUnauthorized) || pr != nil {
					t.Errorf("Store.Authenticate(%s, %q) = %v, %v, want nil, %v", tc.project, tc.key, pr, err, keystore.ErrUnauthorized)
				}
				return
			}
			if err != nil {
				t.Fatalf("Store.Authenticate(%s, key) = %v, want nil", tc.project, err)
			}
			want := keystore.Principal{KeyID: k.ID, ProjectID: a.ID, CanDecrypt: true}
			if pr.KeyID != want.KeyID || pr.ProjectID != want.ProjectID || pr.CanEncrypt != want.CanEncrypt || pr.CanDecrypt != want.CanDecrypt {
				t.Errorf("Store.Authenticate(%s, key) = %+v, want %+v", tc.project, *pr, want)
			}
		})
	}

	t.Run("last_used_at follows use", func(t *testing.T) {
		e.clock.Advance(3 * time.Minute)
		usedAt := e.clock.Now()
		if _, err := e.store.Authenticate([]byte(a.ID), []byte(k.Key)); err != nil {
			t.Fatalf("Store.Authenticate = %v, want nil", err)
		}
		if g := e.getKey(a.ID, k.ID); g.LastUsedAt == nil || !g.LastUsedAt.Equal(usedAt) {
			t.Errorf("GET key last_used_at = %v, want %v", g.LastUsedAt, usedAt)
		}
	})

	t.Run("revoked before the answer", func(t *testing.T) {
		e.callOK("POST", "/admin/v1/projects/"+a.ID+"/keys/"+k.ID+"/revoke", "", 200)
		if pr, err := e.store.Authenticate([]byte(a.ID), []byte(k.Key)); !errors.Is(err, keystore.ErrUnauthorized) {
			t.Errorf("Store.Authenticate(revoked key) = %v, %v, want nil, %v", pr, err, keystore.ErrUnauthorized)
		}
		if pr, err := e.store.AuthenticateKey([]byte(k.Key)); !errors.Is(err, keystore.ErrUnauthorized) {
			t.Errorf("Store.AuthenticateKey(revoked key) = %v, %v, want nil, %v", pr, err, keystore.ErrUnauthorized)
		}
	})
}

func TestAdminServerErrors(t *testing.T) {
	e := newAdmEnv(t)
	cases := []struct {
		name, request string
		wantStatus    int
		wantCode      string
	}{
		{
			name: "body over 1 MiB",
			request: "POST /admin/v1/projects HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer " + admToken +
				"\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n" + strings.Repeat(" ", UnauthBodyBytes),
			wantStatus: http.StatusRequestEntityTooLarge,
			wantCode:   "body_too_large",
		},
		{
			name:       "malformed request",
			request:    "GET /admin/v1/projects HTTP/1.1\r\nHost: admin.test\r\nContent-Length: lots\r\n\r\n",
			wantStatus: http.StatusBadRequest,
			wantCode:   "invalid_request",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.rawHTTP(tc.name, tc.request)
			wantError(t, r, tc.name, tc.wantStatus, tc.wantCode)
		})
	}
}

// TestAdminProjectBindFields: bind_fields is off by default, set on create
// or by PATCH, survives a read, and must be a boolean.
func TestAdminProjectBindFields(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"A"}`)
	if p.BindFields {
		t.Errorf("new project bind_fields = true, want false by default")
	}
	var got admProject
	admDecode(t, e.callOK("PATCH", "/admin/v1/projects/"+p.ID, `{"bind_fields":true}`, 200).body, &got)
	if !got.BindFields {
		t.Errorf("PATCH bind_fields true = %+v, want bind_fields true", got)
	}
	admDecode(t, e.callOK("GET", "/admin/v1/projects/"+p.ID, "", 200).body, &got)
	if !got.BindFields {
		t.Errorf("GET after PATCH bind_fields = false, want true")
	}
	if b := e.project(`{"name":"B","bind_fields":true}`); !b.BindFields {
		t.Errorf("create with bind_fields true = %+v", b)
	}
	msg := wantError(t, e.call("PATCH", "/admin/v1/projects/"+p.ID, `{"bind_fields":"yes"}`), "bind_fields string", 400, "invalid_request")
	if !strings.Contains(msg, "bind_fields") {
		t.Errorf("error %q does not name bind_fields", msg)
	}
}
