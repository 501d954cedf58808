package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// fakeMembers is a fixed instance list.
type fakeMembers struct {
	self keystore.Instance
	list []keystore.Instance
}

func (f fakeMembers) Self() keystore.Instance   { return f.self }
func (f fakeMembers) List() []keystore.Instance { return f.list }

func TestListInstances(t *testing.T) {
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a := keystore.Instance{ID: "inst_a", DataAddr: "10.0.0.1:8080", AdminURL: "http://10.0.0.1:8081", Version: "1.2.3", Started: started}
	b := keystore.Instance{ID: "inst_b", DataAddr: "10.0.0.2:8080", AdminURL: "http://10.0.0.2:8081", Version: "1.2.3", Started: started}
	e := newAdmEnvWith(t, func(o *Options) { o.Members = fakeMembers{self: b, list: []keystore.Instance{a, b}} })
	var page wire.Page[wire.Instance]
	if err := json.Unmarshal(e.callOK("GET", "/admin/v1/instances", "", 200).body, &page); err != nil {
		t.Fatal(err)
	}
	want := []wire.Instance{
		{ID: "inst_a", DataAddress: "10.0.0.1:8080", AdminAddress: "http://10.0.0.1:8081", Version: "1.2.3", Started: started},
		{ID: "inst_b", DataAddress: "10.0.0.2:8080", AdminAddress: "http://10.0.0.2:8081", Version: "1.2.3", Started: started, Self: true},
	}
	if len(page.Items) != 2 || page.Items[0] != want[0] || page.Items[1] != want[1] || page.NextCursor != nil {
		t.Errorf("GET /admin/v1/instances = %+v, want %+v and no cursor", page, want)
	}

	none := newAdmEnv(t)
	if got := strings.TrimSpace(none.callOK("GET", "/admin/v1/instances", "", 200).String()); got != `{"items":[],"next_cursor":null}` {
		t.Errorf("GET /admin/v1/instances without Members = %s, want an empty page", got)
	}
	none.want(none.call("POST", "/admin/v1/instances", ""), "POST", "/admin/v1/instances", 405)
}
