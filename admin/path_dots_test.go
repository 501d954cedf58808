package admin

import (
	"strings"
	"testing"
)

// TestAdminPathDotSegments: the route and the ids come from the path as
// sent. A subject id of dots sent as is used to be resolved by fasthttp
// into another path: ".." erased nothing and deleted the project, and
// "x/../../../Q/subjects/y" erased a subject of project Q.
func TestAdminPathDotSegments(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Victim"}`)
	q := e.project(`{"name":"Other"}`)
	send := func(method, path string) admResp {
		return e.rawHTTP(method+" "+path, method+" "+path+" HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer "+admToken+"\r\nConnection: close\r\n\r\n")
	}
	base := "/admin/v1/projects/" + p.ID + "/subjects/"
	for _, path := range []string{
		base + "..",
		base + ".",
		base + "x/../../../" + q.ID + "/subjects/y",
		"/admin/v1/../v1/projects/" + p.ID,
		"/x/../admin/v1/projects/" + p.ID,
		"/admin/v1/projects/" + p.ID + "/keys/..",
	} {
		for _, method := range []string{"DELETE", "GET"} {
			r := send(method, path)
			if msg := wantError(t, r, method+" "+path, 400, "invalid_request"); !strings.Contains(msg, `"." or ".."`) {
				t.Errorf("%s %s: message %q, want it to name the dot segment", method, path, msg)
			}
		}
	}
	for _, id := range []string{p.ID, q.ID} {
		e.callOK("GET", "/admin/v1/projects/"+id, "", 200)
	}
	if m := admMembers(t, send("GET", "/admin/v1/projects/"+q.ID+"/subjects/y").body); string(m["state"]) != `"none"` {
		t.Errorf("subject y of %s after the refused calls: %v, want state none", q.ID, m)
	}
	// Dots percent-encoded are the subject's own: ".." is erased in p.
	r := send("DELETE", base+"%2E%2E")
	if m := admMembers(t, r.body); r.status != 200 || string(m["erased"]) != "true" || string(m["project_id"]) != `"`+p.ID+`"` {
		t.Errorf("DELETE subject %%2E%%2E = %d %s, want 200, erased in %s", r.status, r.body, p.ID)
	}
	e.callOK("GET", "/admin/v1/projects/"+p.ID, "", 200)
	if m := admMembers(t, send("GET", base+"%2E%2E").body); string(m["state"]) != `"erased"` {
		t.Errorf("GET subject %%2E%%2E after erasing it: %v, want erased", m)
	}
	if r := send("GET", base+"a%zz"); r.status != 400 {
		t.Errorf("GET subject a%%zz = %d, want 400", r.status)
	}
}
