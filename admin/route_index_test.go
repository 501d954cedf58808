package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func TestAdminRouteIndex(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Shop"}`)
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	created := e.callOK("POST", routes, `{"path":"/users/**","request":{"mode":"encrypt","fields":["email","items.*.phone"],
		"index":[{"field":"email","normalize":"lower_trim"},{"field":"items.*.phone","normalize":"digits","name":"phone_idx","bytes":8}]}}`, 201)
	var r wire.Route
	if err := json.Unmarshal(created.body, &r); err != nil {
		t.Fatal(err)
	}
	want := []wire.RouteIndex{{Field: "email", Normalize: "lower_trim", Name: "email_bidx", Bytes: 16}, {Field: "items.*.phone", Normalize: "digits", Name: "phone_idx", Bytes: 8}}
	if got, _ := json.Marshal(r.Request.Index); string(got) != mustJSON(want) {
		t.Errorf("POST routes index = %s, want %s", got, mustJSON(want))
	}
	bad := e.call("POST", routes, `{"path":"/a","request":{"mode":"encrypt","fields":["a"],"index":[{"field":"b"}]}}`)
	if bad.status != 400 || !strings.Contains(string(bad.body), "request.index[0].field") {
		t.Errorf("POST routes with an index of a field not encrypted = %d %s, want 400 naming request.index[0].field", bad.status, bad.body)
	}

	preview := "/admin/v1/projects/" + p.ID + "/preview"
	got := e.callOK("POST", preview, `{"method":"POST","path":"/users/1","body":{"email":"Ann@x","EMAIL_BIDX":"old","items":[{"phone":"1"},{"phone":{"n":"2"}}],"name":"n"},
		"fields":["name"],"index":["email:lower_trim","name"]}`, 200)
	var pv wire.Preview
	if err := json.Unmarshal(got.body, &pv); err != nil {
		t.Fatal(err)
	}
	wantPV := []wire.PreviewIndex{
		{Field: "email", Normalize: "lower_trim", Name: "email_bidx", Bytes: 16, Written: []string{"email_bidx"}, Values: 1, Replaced: []string{"EMAIL_BIDX"}, NotScalar: []string{}},
		{Field: "items.*.phone", Normalize: "digits", Name: "phone_idx", Bytes: 8, Written: []string{"items.*.phone_idx"}, Values: 1, Replaced: []string{}, NotScalar: []string{"items.*.phone"}},
		{Field: "name", Normalize: "exact", Name: "name_bidx", Bytes: 16, Written: []string{"name_bidx"}, Values: 1, Replaced: []string{}, NotScalar: []string{}},
	}
	if g := mustJSON(pv.Request.Index); g != mustJSON(wantPV) {
		t.Errorf("preview index =\n %s\nwant\n %s", g, mustJSON(wantPV))
	}
	if strings.Contains(string(got.body), "Ann@x") {
		t.Errorf("preview = %s: it echoes a value", got.body)
	}
	conflict := e.call("POST", preview, `{"method":"POST","path":"/users/1","body":{},"index":["email"]}`)
	if conflict.status != 400 || !strings.Contains(string(conflict.body), "route_conflict") {
		t.Errorf("preview changing the route's index = %d %s, want 400 route_conflict", conflict.status, conflict.body)
	}
	// A path that names a dotted key is sealed and indexed where it is
	// nested too, as the data plane does (fieldcrypt's spellings).
	got = e.callOK("POST", preview, `{"method":"POST","path":"/other","body":{"profile":{"email":"a","EMAIL_BIDX":"old"},"profile.email_bidx":"planted"},
		"fields":["profile\\.email"],"index":["profile\\.email"]}`, 200)
	pv = wire.Preview{}
	if err := json.Unmarshal(got.body, &pv); err != nil {
		t.Fatal(err)
	}
	wantPV = []wire.PreviewIndex{{Field: `profile\.email`, Normalize: "exact", Name: "profile.email_bidx", Bytes: 16,
		Written: []string{"profile.email_bidx"}, Values: 1, Replaced: []string{"profile.EMAIL_BIDX", `profile\.email_bidx`}, NotScalar: []string{}}}
	if g := mustJSON(pv.Request.Index); g != mustJSON(wantPV) || mustJSON(pv.Request.Fields) != `["profile.email"]` || len(pv.Request.Absent) != 0 {
		t.Errorf("preview of a nested spelling: fields %s, absent %q, index\n %s\nwant fields [\"profile.email\"], none absent, index\n %s",
			mustJSON(pv.Request.Fields), pv.Request.Absent, g, mustJSON(wantPV))
	}
	// An indexed value inside one sealed whole: 422, as the proxy answers.
	for _, c := range []struct{ fields, index, body string }{
		{`"user","user.email"`, `"user.email"`, `{"user":{"email":"a"}}`},
		{`"a\\.b\\.c","a"`, `"a\\.b\\.c"`, `{"a":{"b.c":"old"}}`},
	} {
		r := e.call("POST", preview, `{"method":"POST","path":"/other","body":`+c.body+`,"fields":[`+c.fields+`],"index":[`+c.index+`]}`)
		if r.status != 422 || !strings.Contains(string(r.body), "index_not_encrypted") {
			t.Errorf("preview of an index inside a sealed value (%s) = %d %s, want 422 index_not_encrypted", c.fields, r.status, r.body)
		}
	}
	noEnc := e.call("POST", preview, `{"method":"POST","path":"/other","body":{},"index":["email"]}`)
	if noEnc.status != 400 || !strings.Contains(string(noEnc.body), "invalid_index") {
		t.Errorf("preview of an index without fields = %d %s, want 400 invalid_index", noEnc.status, noEnc.body)
	}
	// A field to encrypt where the index goes: 400, as the proxy answers.
	over := e.call("POST", preview, `{"method":"POST","path":"/other","body":{"email":"a"},"fields":["email","emailBidx"],"index":["email"]}`)
	if over.status != 400 || !strings.Contains(string(over.body), "invalid_index") || !strings.Contains(string(over.body), "emailBidx") {
		t.Errorf("preview of a field where the index goes = %d %s, want 400 invalid_index naming emailBidx", over.status, over.body)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
