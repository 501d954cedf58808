package admin

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// admClass is a classification as the admin API shows it.
type admClass struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Mask        struct {
		ShowFirst int    `json:"show_first"`
		ShowLast  int    `json:"show_last"`
		Char      string `json:"char"`
	} `json:"mask"`
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// exampleClass is the classification of issue 12.
const exampleClass = `{"slug": "pii", "name": "Personal data", "description": "Names, e-mail addresses, phone numbers",
 "mask": {"show_last": 4, "show_first": 0, "char": "*"}}`

func (c admClass) mask() string {
	return fmt.Sprintf("%d/%d/%s", c.Mask.ShowFirst, c.Mask.ShowLast, c.Mask.Char)
}

func classPath(project string) string { return "/admin/v1/projects/" + project + "/classifications" }

func TestAdminClassificationCRUD(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Shop"}`)
	classes := classPath(p.ID)

	created := e.callOK("POST", classes, exampleClass, 201)
	wantMembers(t, "POST classifications", created.body, "slug", "name", "description", "mask", "builtin", "created_at", "updated_at")
	wantMembers(t, "POST classifications mask", admMembers(t, created.body)["mask"], "show_first", "show_last", "char")
	var c admClass
	admDecode(t, created.body, &c)
	if c.Slug != "pii" || c.Name != "Personal data" || c.Description != "Names, e-mail addresses, phone numbers" || c.mask() != "0/4/*" ||
		c.Builtin || !c.CreatedAt.Equal(e.clock.Now()) || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Errorf("POST %s = %s, want the example, created now", classes, created.body)
	}
	one := classes + "/pii"
	if got := e.callOK("GET", one, "", 200); string(got.body) != string(created.body) {
		t.Errorf("GET %s = %s, want what POST answered: %s", one, got.body, created.body)
	}

	// Defaults: name the slug, the default mask; a mask's members each default.
	var card admClass
	admDecode(t, e.callOK("POST", classes, `{"slug":"card","mask":{"show_first":6,"char":"•"}}`, 201).body, &card)
	if card.Name != "card" || card.Description != "" || card.mask() != "6/4/•" {
		t.Errorf("POST card = %+v, want name card, show_first 6, show_last 4 (default), char •", card)
	}

	var list admPage
	admDecode(t, e.callOK("GET", classes, "", 200).body, &list)
	var slugs []string
	for _, it := range list.Items {
		var v admClass
		admDecode(t, it, &v)
		slugs = append(slugs, v.Slug)
		if v.Slug == "none" && (!v.Builtin || v.mask() != "0/4/*" || !v.CreatedAt.Equal(p.CreatedAt)) {
			t.Errorf("GET %s none = %s, want built in, the default mask, created with the project", classes, it)
		}
	}
	if !slices.Equal(slugs, []string{"card", "none", "pii"}) || list.NextCursor != nil {
		t.Errorf("GET %s slugs = %v, next %v, want card, none, pii by slug and next_cursor null", classes, slugs, list.NextCursor)
	}
	var none admClass
	admDecode(t, e.callOK("GET", classes+"/none", "", 200).body, &none)
	if !none.Builtin || none.Slug != "none" {
		t.Errorf("GET %s/none = %+v, want the built-in classification", classes, none)
	}

	// PUT replaces the whole: what the body leaves out takes its default.
	e.clock.Advance(time.Minute)
	put := e.callOK("PUT", one, `{"slug":"pii","description":"changed","mask":{"show_last":2,"char":"#"}}`, 200)
	var up admClass
	admDecode(t, put.body, &up)
	if up.Slug != "pii" || up.Name != "pii" || up.Description != "changed" || up.mask() != "0/2/#" ||
		!up.CreatedAt.Equal(c.CreatedAt) || !up.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("PUT %s = %s, want name back to the slug, the new description and mask, created_at kept, updated now", one, put.body)
	}
	if got := e.callOK("PUT", one, `{"name":"Personal data"}`, 200); !strings.Contains(string(got.body), `"show_last":4`) {
		t.Errorf("PUT %s without slug and mask = %s, want it accepted with the default mask", one, got.body)
	}
	if m := e.store.CachedMask([]byte(p.ID), []byte("pii")); m == nil || m.ShowLast != 4 {
		t.Errorf("CachedMask(pii) after PUT = %+v, want the data plane to see show_last 4", m)
	}

	e.callOK("DELETE", one, "", 204)
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		wantError(t, e.call(method, one, `{}`), method+" "+one+" after delete", 404, "not_found")
	}
	admDecode(t, e.callOK("GET", classes, "", 200).body, &list)
	if len(list.Items) != 2 {
		t.Errorf("GET %s after delete = %d items, want card and none", classes, len(list.Items))
	}
	// The slug is free again.
	e.callOK("POST", classes, exampleClass, 201)
}

func TestAdminClassificationValidation(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"V"}`)
	classes := classPath(p.ID)
	e.callOK("POST", classes, exampleClass, 201)
	one := classes + "/pii"
	long := strings.Repeat("n", 201)
	cases := []struct {
		name, method, path, body, field string
	}{
		{"slug missing", "POST", classes, `{"name":"x"}`, "slug"},
		{"slug not a slug", "POST", classes, `{"slug":"Personal Data"}`, "slug"},
		{"slug too long", "POST", classes, `{"slug":"` + strings.Repeat("a", 65) + `"}`, "slug"},
		{"slug none", "POST", classes, `{"slug":"none"}`, "slug"},
		{"slug wrong type", "POST", classes, `{"slug":5}`, "slug"},
		{"name too long", "POST", classes, `{"slug":"a","name":"` + long + `"}`, "name"},
		{"name control", "POST", classes, `{"slug":"a","name":"a\u001b[2J"}`, "name"},
		{"description too long", "POST", classes, `{"slug":"a","description":"` + strings.Repeat("d", 1001) + `"}`, "description"},
		{"show_first negative", "POST", classes, `{"slug":"a","mask":{"show_first":-1}}`, "mask.show_first"},
		{"show_first too big", "POST", classes, `{"slug":"a","mask":{"show_first":101}}`, "mask.show_first"},
		{"show_last negative", "POST", classes, `{"slug":"a","mask":{"show_last":-4}}`, "mask.show_last"},
		{"show_last wrong type", "POST", classes, `{"slug":"a","mask":{"show_last":"4"}}`, "mask.show_last"},
		{"char empty", "POST", classes, `{"slug":"a","mask":{"char":""}}`, "mask.char"},
		{"char two", "POST", classes, `{"slug":"a","mask":{"char":"**"}}`, "mask.char"},
		{"char control", "POST", classes, `{"slug":"a","mask":{"char":"\n"}}`, "mask.char"},
		{"mask unknown member", "POST", classes, `{"slug":"a","mask":{"show_middle":1}}`, "show_middle"},
		{"unknown member", "POST", classes, `{"slug":"a","colour":"red"}`, "colour"},
		{"put other slug", "PUT", one, `{"slug":"phi"}`, "slug"},
		{"put char two", "PUT", one, `{"mask":{"char":"ab"}}`, "mask.char"},
		{"put show_last too big", "PUT", one, `{"mask":{"show_last":1000}}`, "mask.show_last"},
		{"put none", "PUT", classes + "/none", `{"name":"x"}`, "slug"},
		{"delete none", "DELETE", classes + "/none", ``, "slug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			what := tc.method + " " + tc.path + " " + tc.body
			msg := wantError(t, e.call(tc.method, tc.path, tc.body), what, 400, "invalid_request")
			if !strings.Contains(msg, tc.field) {
				t.Errorf("%s message = %q, want it to name %q", what, msg, tc.field)
			}
		})
	}
	if msg := wantError(t, e.call("POST", classes, exampleClass), "POST "+classes+" (pii again)", 409, "classification_exists"); !strings.Contains(msg, "slug") {
		t.Errorf("POST %s (pii again) message = %q, want it to say the slug exists", classes, msg)
	}
	var got admClass
	admDecode(t, e.callOK("GET", one, "", 200).body, &got)
	if got.Name != "Personal data" || got.mask() != "0/4/*" {
		t.Errorf("GET %s after refused calls = %+v, want it unchanged", one, got)
	}
	var list admPage
	admDecode(t, e.callOK("GET", classes, "", 200).body, &list)
	if len(list.Items) != 2 {
		t.Errorf("GET %s after refused creates = %d items, want none and pii", classes, len(list.Items))
	}
}

// TestAdminClassificationReferences: keys and routes name only defined
// slugs, and a slug they name cannot be deleted.
func TestAdminClassificationReferences(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Refs"}`)
	classes := classPath(p.ID)
	keys := "/admin/v1/projects/" + p.ID + "/keys"
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	e.classes(p.ID, "pii", "card")

	msg := wantError(t, e.call("POST", keys, `{"classifications":["pii","phi"]}`), "POST keys [pii phi]", 400, "invalid_request")
	if !strings.HasPrefix(msg, `classifications[1]: no such classification "phi"`) {
		t.Errorf("POST keys [pii phi] message = %q, want classifications[1]: no such classification \"phi\" …", msg)
	}
	msg = wantError(t, e.call("POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["a"],"classification":"phi"}}`), "POST routes phi", 400, "invalid_request")
	if !strings.HasPrefix(msg, `request.classification: no such classification "phi"`) {
		t.Errorf("POST routes phi message = %q, want request.classification: no such classification \"phi\" …", msg)
	}
	e.key(p.ID, `{"classifications":["none"]}`) // none always exists

	k1 := e.key(p.ID, `{"name":"a","classifications":["pii"]}`)
	k2 := e.key(p.ID, `{"name":"b","classifications":["card","pii"]}`)
	r := e.route(p.ID, exampleRoute)
	msg = wantError(t, e.call("DELETE", classes+"/pii", ""), "DELETE pii in use", 409, "classification_in_use")
	for _, id := range []string{k1.ID, k2.ID, r.ID} {
		if !strings.Contains(msg, id) {
			t.Errorf("DELETE pii in use message = %q, want it to name %s", msg, id)
		}
	}
	if strings.Contains(msg, "card") {
		t.Errorf("DELETE pii in use message = %q, want only what names pii", msg)
	}
	e.callOK("GET", classes+"/pii", "", 200)

	e.callOK("POST", keys+"/"+k1.ID+"/revoke", "", 200)
	e.callOK("POST", keys+"/"+k2.ID+"/revoke", "", 200)
	msg = wantError(t, e.call("DELETE", classes+"/pii", ""), "DELETE pii named by a route", 409, "classification_in_use")
	if strings.Contains(msg, k1.ID) || !strings.Contains(msg, r.ID) || !strings.Contains(msg, "route") {
		t.Errorf("DELETE pii with the keys revoked message = %q, want the route alone named", msg)
	}
	e.callOK("DELETE", routes+"/"+r.ID, "", 204)
	e.callOK("DELETE", classes+"/pii", "", 204)
}

func TestAdminClassificationNotFound(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Mine"}`)
	q := e.project(`{"name":"Theirs"}`)
	e.classes(p.ID, "pii")
	none := classPath("prj_000000000000")
	cases := []struct{ name, method, path, body string }{
		{"unknown slug", "GET", classPath(p.ID) + "/phi", ""},
		{"put unknown slug", "PUT", classPath(p.ID) + "/phi", `{}`},
		{"delete unknown slug", "DELETE", classPath(p.ID) + "/phi", ""},
		{"other project's slug", "GET", classPath(q.ID) + "/pii", ""},
		{"put other project's slug", "PUT", classPath(q.ID) + "/pii", `{}`},
		{"delete other project's slug", "DELETE", classPath(q.ID) + "/pii", ""},
		{"list of unknown project", "GET", none, ""},
		{"create in unknown project", "POST", none, exampleClass},
		{"none of unknown project", "GET", none + "/none", ""},
		{"below a classification", "GET", classPath(p.ID) + "/pii/keys", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(tc.method, tc.path, tc.body), tc.method+" "+tc.path, 404, "not_found")
		})
	}
}

func TestAdminClassificationMethodNotAllowed(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"M"}`)
	e.classes(p.ID, "pii")
	classes := classPath(p.ID)
	cases := []struct{ method, path, wantAllow string }{
		{"PUT", classes, "GET, POST"},
		{"PATCH", classes, "GET, POST"},
		{"DELETE", classes, "GET, POST"},
		{"POST", classes + "/pii", "DELETE, GET, PUT"},
		{"PATCH", classes + "/pii", "DELETE, GET, PUT"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := e.call(tc.method, tc.path, `{"slug":"phi"}`)
			wantError(t, res, tc.method+" "+tc.path, 405, "method_not_allowed")
			if got := res.header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("%s %s Allow = %q, want %q", tc.method, tc.path, got, tc.wantAllow)
			}
		})
	}
}

func TestAdminClassificationPaging(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Pages"}`)
	classes := classPath(p.ID)
	e.classes(p.ID, "pii", "card", "a-1", "phi", "z_9", "nonce")
	want := []string{"a-1", "card", "nonce", "none", "phi", "pii", "z_9"} // "nonce" < "none"
	page := func(q string) ([]string, *string) {
		var pg admPage
		admDecode(t, e.callOK("GET", q, "", 200).body, &pg)
		var slugs []string
		for _, it := range pg.Items {
			var v admClass
			admDecode(t, it, &v)
			slugs = append(slugs, v.Slug)
		}
		return slugs, pg.NextCursor
	}
	for _, limit := range []int{1, 2, 3, 7, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var all []string
			q := fmt.Sprintf("%s?limit=%d", classes, limit)
			for range 10 {
				slugs, next := page(q)
				if len(slugs) > limit {
					t.Errorf("GET %s = %d items, want at most %d", q, len(slugs), limit)
				}
				all = append(all, slugs...)
				if next == nil {
					break
				}
				q = fmt.Sprintf("%s?limit=%d&cursor=%s", classes, limit, *next)
			}
			if !slices.Equal(all, want) {
				t.Errorf("pages of GET %s?limit=%d = %v, want %v (by slug)", classes, limit, all, want)
			}
		})
	}
	t.Run("cursor survives deleting the last slug it saw", func(t *testing.T) {
		_, next := page(classes + "?limit=2")
		e.callOK("DELETE", classes+"/card", "", 204)
		if slugs, _ := page(classes + "?cursor=" + *next); !slices.Equal(slugs, want[2:]) {
			t.Errorf("GET after the cursor once card was deleted = %v, want %v", slugs, want[2:])
		}
	})
	var routesPage admPage
	e.route(p.ID, `{"path":"/a"}`)
	e.route(p.ID, `{"path":"/b"}`)
	admDecode(t, e.callOK("GET", "/admin/v1/projects/"+p.ID+"/routes?limit=1", "", 200).body, &routesPage)
	for name, cursor := range map[string]string{"not base64": "!!!", "a routes cursor": *routesPage.NextCursor} {
		t.Run("cursor "+name, func(t *testing.T) {
			q := classes + "?cursor=" + cursor
			if msg := wantError(t, e.call("GET", q, ""), "GET "+q, 400, "invalid_request"); !strings.Contains(msg, "cursor") {
				t.Errorf("GET %s message = %q, want it to name cursor", q, msg)
			}
		})
	}
}

func TestAdminClassificationEvents(t *testing.T) {
	rec := &recordedEvents{}
	e := newAdmEnvWith(t, func(o *Options) { o.Events = rec })
	p := e.project(`{"name":"Logged"}`)
	classes := classPath(p.ID)
	e.callOK("POST", classes, exampleClass, 201)
	e.callOK("PUT", classes+"/pii", `{"name":"PII"}`, 200)
	e.callOK("DELETE", classes+"/pii", "", 204)
	e.call("POST", classes, `{"slug":"BAD"}`)      // refused: no event
	e.call("DELETE", classes+"/pii", "")           // gone: no event
	e.call("PUT", classes+"/none", `{"name":"x"}`) // built in: no event

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []string
	for _, ev := range rec.list {
		if !strings.HasPrefix(ev.Type, "classification.") {
			continue
		}
		got = append(got, ev.Type+" "+ev.Details["slug"])
		if ev.ProjectID != p.ID || ev.Actor != "admin" || ev.KeyID != nil || len(ev.Details) != 1 {
			t.Errorf("event %+v, want project %s, actor admin, no key, details slug alone", ev, p.ID)
		}
	}
	want := []string{events.TypeClassificationCreated + " pii", events.TypeClassificationUpdated + " pii", events.TypeClassificationDeleted + " pii"}
	if !slices.Equal(got, want) {
		t.Errorf("classification events = %q, want %q", got, want)
	}
}

func TestAdminClassificationErrorsTable(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("keystore.CreateClassification p: %w", keystore.ErrClassificationLimit), 409, "classification_limit_reached"},
		{fmt.Errorf("keystore.CreateClassification p: %w", keystore.ErrClassificationExists), 409, "classification_exists"},
		{fmt.Errorf("keystore.Classification c: %w", keystore.ErrClassificationNotFound), 404, "not_found"},
		{fmt.Errorf("keystore.DeleteClassification c: %w", &keystore.InUseError{Slug: "pii", Routes: []string{"rt_1"}}), 409, "classification_in_use"},
	}
	for _, tc := range cases {
		ae, ok := toAPIError(tc.err)
		if !ok || ae.Status != tc.status || ae.Code != tc.code {
			t.Errorf("toAPIError(%v) = %+v, %t, want %d %s", tc.err, ae, ok, tc.status, tc.code)
		}
	}
}
