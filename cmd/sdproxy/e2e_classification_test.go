package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// decodeClass decodes `classification … --output json`.
func decodeClass(t *testing.T, what, out string) wire.Classification {
	t.Helper()
	var c wire.Classification
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Slug == "" {
		t.Fatalf("%s = %q (%v), want a classification as JSON", what, out, err)
	}
	return c
}

func TestE2EClassifications(t *testing.T) {
	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Shop", "-o", "json")), &p); err != nil {
		t.Fatal(err)
	}
	proj := []string{"--project", p.ID}
	class := func(args ...string) []string { return append(append([]string{"classification"}, args...), proj...) }

	// create: flags, then defaults, as JSON and as a table
	pii := decodeClass(t, "classification create pii", cli(t, cl, class("create", "--slug", "pii", "--name", "Personal data",
		"--description", "names and e-mail addresses", "--mask-show-first", "2", "--mask-char", "#", "-o", "json")...))
	if pii.Name != "Personal data" || pii.Description != "names and e-mail addresses" || pii.Mask != (wire.Mask{ShowFirst: 2, ShowLast: 4, Char: "#"}) || pii.Builtin {
		t.Errorf("classification create pii = %+v, want the flags, show_last 4 by default", pii)
	}
	out := cli(t, cl, class("create", "--slug", "card")...)
	for _, want := range []string{"card", "first 0, last 4, char *", "builtin"} {
		if !strings.Contains(out, want) {
			t.Errorf("classification create card = %q, want a table showing %q", out, want)
		}
	}

	// list: by slug, none built in; table and JSON
	out = cli(t, cl, class("list")...)
	if !strings.HasPrefix(out, "SLUG ") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "MASK") {
		t.Errorf("classification list = %q, want a table with SLUG … MASK columns", out)
	}
	var slugs []string
	for _, row := range tableRows(out) {
		slugs = append(slugs, row[0])
	}
	if !slices.Equal(slugs, []string{"card", "none", "pii"}) {
		t.Errorf("classification list slugs = %v, want card, none, pii", slugs)
	}
	var list []wire.Classification
	if err := json.Unmarshal([]byte(cli(t, cl, class("list", "-o", "json")...)), &list); err != nil || len(list) != 3 || !list[1].Builtin {
		t.Errorf("classification list -o json = %+v (%v), want 3 items, none built in", list, err)
	}

	// show, by argument or --slug
	for _, args := range [][]string{class("show", "pii"), class("show", "--slug", "pii")} {
		if out := cli(t, cl, args...); !strings.Contains(out, "Personal data") || !strings.Contains(out, "first 2, last 4, char #") {
			t.Errorf("sdproxy %s = %q, want pii's name and mask", strings.Join(args, " "), out)
		}
	}

	// update changes only the flags given
	up := decodeClass(t, "classification update pii", cli(t, cl, class("update", "pii", "--mask-show-last", "0", "-o", "json")...))
	if up.Name != "Personal data" || up.Description != pii.Description || up.Mask != (wire.Mask{ShowFirst: 2, ShowLast: 0, Char: "#"}) || !up.CreatedAt.Equal(pii.CreatedAt) {
		t.Errorf("classification update pii --mask-show-last 0 = %+v, want only show_last changed", up)
	}
	if c := decodeClass(t, "classification update --slug card", cli(t, cl, class("update", "--slug", "card", "--name", "Cards", "-o", "json")...)); c.Name != "Cards" || c.Mask.ShowLast != 4 {
		t.Errorf("classification update --slug card --name Cards = %+v, want the name changed, the mask kept", c)
	}

	// keys and routes name only defined slugs
	keyOut := cli(t, cl, "key", "create", "--project", p.ID, "--classifications", "pii", "-o", "json")
	var k wire.Key
	if err := json.Unmarshal([]byte(keyOut), &k); err != nil || !slices.Equal(k.Classifications, []string{"pii"}) {
		t.Fatalf("sdproxy key create --classifications pii = %q (%v)", keyOut, err)
	}
	r := decodeRoute(t, "route create", cli(t, cl, "route", "create", "--project", p.ID, "--path", "/people/**",
		"--request-mode", "encrypt", "--request-fields", "email", "--request-classification", "pii", "-o", "json"))

	// refusals name the field or the reason
	for _, tc := range []struct {
		args []string
		want string
	}{
		{class("create", "--slug", "pii"), "classification_exists"},
		{class("create", "--slug", "Not A Slug"), "slug:"},
		{class("create", "--slug", "none"), "built in"},
		{class("create", "--slug", "x", "--mask-char", "**"), "mask.char"},
		{class("create", "--slug", "x", "--mask-show-last", "-1"), "mask.show_last"},
		{class("create"), "--slug is required"},
		{class("update", "pii", "--slug", "card"), "differ"},
		{class("update", "none", "--name", "x"), "built in"},
		{class("show", "phi"), "not_found"},
		{class("delete", "none"), "built in"},
		{[]string{"key", "create", "--project", p.ID, "--classifications", "pii,phi"}, `classifications[1]: no such classification "phi"`},
		{[]string{"route", "create", "--project", p.ID, "--path", "/a", "--request-mode", "encrypt", "--request-fields", "a",
			"--request-classification", "phi"}, "request.classification"},
		{class("delete", "pii"), "classification_in_use"},
	} {
		if stderr := cliFails(t, cl, tc.args...); !strings.Contains(stderr, tc.want) {
			t.Errorf("sdproxy %s stderr = %q, want it to mention %q", strings.Join(tc.args, " "), stderr, tc.want)
		}
	}
	if stderr := cliFails(t, cl, class("delete", "pii")...); !strings.Contains(stderr, k.ID) || !strings.Contains(stderr, r.ID) {
		t.Errorf("sdproxy classification delete pii (in use) stderr = %q, want it to name key %s and route %s", stderr, k.ID, r.ID)
	}

	// the data plane refuses an undefined slug
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))
	dp := map[string]string{"SDPROXY_API_KEY": key, "SDPROXY_DATA_ADDR": "http://" + env[config.EnvListen]}
	if stderr := cliFails(t, dp, "encrypt", "--classification", "phi", "--text", "x"); !strings.Contains(stderr, "unknown_classification") {
		t.Errorf("sdproxy encrypt --classification phi stderr = %q, want unknown_classification", stderr)
	}
	if out := cli(t, dp, "encrypt", "--classification", "card", "--text", "x"); !strings.HasPrefix(out, `"qanapi:`) {
		t.Errorf("sdproxy encrypt --classification card = %q, want a token", out)
	}

	// once nothing names it, it goes
	cli(t, cl, "key", "revoke", "--project", p.ID, k.ID)
	cli(t, cl, "route", "delete", "--project", p.ID, r.ID)
	if out := cli(t, cl, class("delete", "pii")...); !strings.Contains(out, "Deleted classification pii of project "+p.ID) {
		t.Errorf("sdproxy classification delete pii = %q, want a confirmation", out)
	}
	if stderr := cliFails(t, cl, class("show", "pii")...); !strings.Contains(stderr, "not_found") {
		t.Errorf("sdproxy classification show of a deleted slug stderr = %q, want not_found", stderr)
	}

	// the changes are in the event log
	var evs wire.Page[wire.Event]
	if err := json.Unmarshal([]byte(cli(t, cl, "events", "--project", p.ID, "--type", "classification.", "-o", "json")), &evs); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs.Items {
		count[e.Type+" "+e.Details["slug"]]++
	}
	want := map[string]int{"classification.created pii": 1, "classification.created card": 1, "classification.updated pii": 1,
		"classification.updated card": 1, "classification.deleted pii": 1}
	if len(count) != len(want) {
		t.Errorf("classification events = %v, want %v", count, want)
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("classification events %q = %d, want %d (all: %v)", k, count[k], n, count)
		}
	}
}
