package admin

import "testing"

func TestZZPreviewPaths(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Shop"}`)
	e.route(p.ID, `{"path": "/admin/**", "order": 1, "request": {"mode":"encrypt","fields": ["ssn"]}}`)
	for _, path := range []string{"/admin/x", "/admin/../users", "/admin/%2E%2E/users", "/admin/..%2Fusers", "/%61dmin/x", "/admin;x/y", "//admin/x", "/admin/./x", "/x/../admin/y", "/admin#/../x"} {
		r := e.call("POST", "/admin/v1/projects/"+p.ID+"/preview", `{"method":"POST","path":"`+path+`","body":{"ssn":"1"}}`)
		t.Logf("%s: %d %s", path, r.status, r.body)
	}
}
