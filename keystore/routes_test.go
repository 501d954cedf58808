package keystore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// postsRoute is the route of the example.
func postsRoute() RouteInput {
	return RouteInput{
		Methods: []string{"POST", "PUT", "PATCH"}, Path: "/posts/**", Order: 10,
		Request:  &RoutePhase{Mode: "encrypt", Fields: []string{"title", "body"}, Classification: "pii", Require: []string{"title"}},
		Response: &RoutePhase{Mode: "decrypt", Fields: []string{"title", "body", "*.title", "*.body"}},
	}
}

func mustRoute(t testing.TB, s *Store, project string, in RouteInput) Route {
	t.Helper()
	r, err := s.CreateRoute(project, in)
	if err != nil {
		t.Fatalf("CreateRoute(%s, %+v) = %v", project, in, err)
	}
	return r
}

func routeIDs(rs []Route) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func TestRouteCreateGetUpdateDelete(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "routes")
	mustClass(t, s, p.ID, "pii")
	r := mustRoute(t, s, p.ID, postsRoute())
	if !strings.HasPrefix(r.ID, "rt_") || len(r.ID) != 15 || strings.Trim(r.ID[3:], base36) != "" {
		t.Errorf("CreateRoute id = %q, want rt_ and 12 base36 characters", r.ID)
	}
	if r.ProjectID != p.ID || !r.CreatedAt.Equal(c.Now()) || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("CreateRoute = %+v, want project %s, created and updated now", r, p.ID)
	}
	got, err := s.Route(p.ID, r.ID)
	if err != nil || !sameRoutes([]Route{got}, []Route{r}) {
		t.Fatalf("Route(%s) = %+v, %v, want %+v", r.ID, got, err, r)
	}
	if got.Request.Classification != "pii" || !slices.Equal(got.Request.Require, []string{"title"}) ||
		!slices.Equal(got.Response.Fields, []string{"title", "body", "*.title", "*.body"}) {
		t.Errorf("Route(%s) phases = %+v / %+v, want the example's", r.ID, *got.Request, *got.Response)
	}

	c.Advance(time.Minute)
	up, err := s.UpdateRoute(p.ID, r.ID, RouteInput{Path: "/comments/*", Response: &RoutePhase{Fields: []string{"text"}}})
	if err != nil {
		t.Fatalf("UpdateRoute = %v", err)
	}
	want := Route{
		ID: r.ID, ProjectID: p.ID, Methods: []string{}, Path: "/comments/*", Order: 0,
		Response:  &RoutePhase{Mode: ModeDecrypt, Fields: []string{"text"}, Require: []string{}},
		CreatedAt: r.CreatedAt, UpdatedAt: c.Now(),
	}
	if !sameRoutes([]Route{up}, []Route{want}) {
		t.Errorf("UpdateRoute = %+v, want the whole route replaced: %+v", up, want)
	}
	if got, _ := s.Route(p.ID, r.ID); !sameRoutes([]Route{got}, []Route{want}) {
		t.Errorf("Route after update = %+v, want %+v", got, want)
	}

	del, err := s.DeleteRoute(p.ID, r.ID)
	if err != nil || del.Path != "/comments/*" {
		t.Fatalf("DeleteRoute = %+v, %v, want the deleted route", del, err)
	}
	for name, err := range map[string]error{
		"Route":       second(s.Route(p.ID, r.ID)),
		"UpdateRoute": second(s.UpdateRoute(p.ID, r.ID, postsRoute())),
		"DeleteRoute": second(s.DeleteRoute(p.ID, r.ID)),
	} {
		if !errors.Is(err, ErrRouteNotFound) {
			t.Errorf("%s after delete = %v, want ErrRouteNotFound", name, err)
		}
	}
	if list, err := s.Routes(p.ID); err != nil || len(list) != 0 || list == nil {
		t.Errorf("Routes after delete = %v, %v, want an empty list", list, err)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func second[T any](_ T, err error) error { return err }

func TestRouteOtherProjectOrNone(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "a")
	q := mustProject(t, s, "b")
	mustClass(t, s, p.ID, "pii")
	r := mustRoute(t, s, p.ID, postsRoute())
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"Route of another project", second(s.Route(q.ID, r.ID)), ErrRouteNotFound},
		{"UpdateRoute of another project", second(s.UpdateRoute(q.ID, r.ID, postsRoute())), ErrRouteNotFound},
		{"DeleteRoute of another project", second(s.DeleteRoute(q.ID, r.ID)), ErrRouteNotFound},
		{"CreateRoute in an unknown project", second(s.CreateRoute("prj_nope", postsRoute())), ErrProjectNotFound},
		{"Routes of an unknown project", second(s.Routes("prj_nope")), ErrProjectNotFound},
		{"Route of an unknown project", second(s.Route("prj_nope", r.ID)), ErrRouteNotFound},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if got, _ := s.Route(p.ID, r.ID); got.Path != "/posts/**" {
		t.Errorf("Route(%s) after refused calls = %+v, want it unchanged", r.ID, got)
	}
}

func TestRoutesEvaluationOrder(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "order")
	add := func(order int) Route {
		return mustRoute(t, s, p.ID, RouteInput{Path: "/x", Order: order})
	}
	late := add(5) // created first, but a higher order
	c.Advance(time.Second)
	a, b, d := add(1), add(1), add(1) // one instant: by id
	c.Advance(time.Second)
	newer := add(1) // same order, newer
	first := add(-3)
	tied := []string{a.ID, b.ID, d.ID}
	slices.Sort(tied)
	want := append(append([]string{first.ID}, tied...), newer.ID, late.ID)
	list, err := s.Routes(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := routeIDs(list); !slices.Equal(got, want) {
		t.Errorf("Routes() = %v, want %v (order, then creation, then id)", got, want)
	}
	if cached, _ := s.CachedRoutes([]byte(p.ID)); !slices.Equal(routeIDs(cached), want) {
		t.Errorf("CachedRoutes() = %v, want %v", routeIDs(cached), want)
	}
	// Moving a route changes its place, not its creation time.
	if _, err := s.UpdateRoute(p.ID, late.ID, RouteInput{Path: "/x", Order: -10}); err != nil {
		t.Fatal(err)
	}
	want = append([]string{late.ID}, want[:len(want)-1]...)
	if cached, _ := s.CachedRoutes([]byte(p.ID)); !slices.Equal(routeIDs(cached), want) {
		t.Errorf("CachedRoutes() after moving %s to -10 = %v, want %v", late.ID, routeIDs(cached), want)
	}
}

func TestRouteValidation(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "v")
	req := func(ph RoutePhase) RouteInput { return RouteInput{Path: "/a", Request: &ph} }
	resp := func(ph RoutePhase) RouteInput { return RouteInput{Path: "/a", Response: &ph} }
	enc := func(fields ...string) RoutePhase { return RoutePhase{Mode: "encrypt", Fields: fields} }
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("f%d", i)
		}
		return out
	}
	deep := strings.TrimSuffix(strings.Repeat("a.", 32), ".")
	cases := []struct {
		name  string
		in    RouteInput
		field string
	}{
		{"path missing", RouteInput{}, "path"},
		{"path relative", RouteInput{Path: "posts"}, "path"},
		{"path with query", RouteInput{Path: "/posts?x=1"}, "path"},
		{"path with fragment", RouteInput{Path: "/posts#top"}, "path"},
		{"path trailing slash", RouteInput{Path: "/posts/"}, "path"},
		{"path double slash", RouteInput{Path: "/a//b"}, "path"},
		{"path star inside segment", RouteInput{Path: "/posts/*.json"}, "path"},
		{"path triple star", RouteInput{Path: "/***"}, "path"},
		{"path dot dot", RouteInput{Path: "/a/../b"}, "path"},
		{"path control character", RouteInput{Path: "/a\nb"}, "path"},
		{"path too long", RouteInput{Path: "/" + strings.Repeat("a", MaxRoutePathLen)}, "path"},
		{"method empty", RouteInput{Path: "/a", Methods: []string{"GET", ""}}, "methods[1]"},
		{"method with space", RouteInput{Path: "/a", Methods: []string{"GE T"}}, "methods[0]"},
		{"too many methods", RouteInput{Path: "/a", Methods: many(33)}, "methods"},
		{"order too big", RouteInput{Path: "/a", Order: MaxRouteOrder + 1}, "order"},
		{"order too small", RouteInput{Path: "/a", Order: -MaxRouteOrder - 1}, "order"},
		{"request mode missing", req(RoutePhase{Fields: []string{"a"}}), "request.mode"},
		{"request mode unknown", req(RoutePhase{Mode: "hash", Fields: []string{"a"}}), "request.mode"},
		{"response mode unknown", resp(RoutePhase{Mode: "mask", Fields: []string{"a"}}), "response.mode"},
		{"request fields missing", req(RoutePhase{Mode: "encrypt"}), "request.fields"},
		{"response fields missing", resp(RoutePhase{}), "response.fields"},
		{"request field empty segment", req(enc("a", "b..c")), "request.fields[1]"},
		{"request field bad escape", req(enc(`a\b`)), "request.fields[0]"},
		{"request field blank", req(enc("a", "b", "  ")), "request.fields[2]"},
		{"request field JSONPath", req(enc("a", "$.ssn")), "request.fields[1]"},
		{"request field brackets", req(enc("items[0].card")), "request.fields[0]"},
		{"response field glob", resp(RoutePhase{Fields: []string{"ok", "**.ssn"}}), "response.fields[1]"},
		{"require partial glob", req(RoutePhase{Mode: "encrypt", Fields: []string{"a"}, Require: []string{"k*"}}), "request.require[0]"},
		{"response field too deep", resp(RoutePhase{Fields: []string{"ok", deep}}), "response.fields[1]"},
		{"too many fields", req(enc(many(MaxRouteFields + 1)...)), "request.fields"},
		// Each spelling of a path with dotted keys counts (4 x 16 + 2).
		{"too many spellings", req(enc(`a\.b\.c\.d\.e`, `f\.g\.h\.i\.j`, `k\.l\.m\.n\.o`, `p\.q\.r\.s\.t`, `u\.v`)), "request.fields"},
		{"classification not a slug", req(RoutePhase{Mode: "encrypt", Fields: []string{"a"}, Classification: "P I I"}), "request.classification"},
		{"response classification", resp(RoutePhase{Fields: []string{"a"}, Classification: "pii"}), "response.classification"},
		{"require wildcard", req(RoutePhase{Mode: "encrypt", Fields: []string{"a"}, Require: []string{"a", "items.*.id"}}), "request.require[1]"},
		{"require bad path", req(RoutePhase{Mode: "encrypt", Fields: []string{"a"}, Require: []string{"a."}}), "request.require[0]"},
		{"response require", resp(RoutePhase{Fields: []string{"a"}, Require: []string{"a"}}), "response.require"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateRoute(p.ID, tc.in)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("CreateRoute(%+v) = %v, want a *FieldError", tc.in, err)
			}
			if fe.Field != tc.field {
				t.Errorf("CreateRoute(%+v) field = %q (%v), want %q", tc.in, fe.Field, err, tc.field)
			}
		})
	}
	if list, _ := s.Routes(p.ID); len(list) != 0 {
		t.Errorf("Routes() after refused creates = %d routes, want 0", len(list))
	}
}

func TestRouteNormalisation(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "n")
	r := mustRoute(t, s, p.ID, RouteInput{
		Methods: []string{"get", "Post", "GET"}, Path: "/",
		Request:  &RoutePhase{Mode: " Encrypt ", Fields: []string{" a ", "a", `b\.c`, `x.\*`, "l.0"}, Require: []string{`k.\*`, `k\*`}},
		Response: &RoutePhase{Fields: []string{"*.a"}},
	})
	if !slices.Equal(r.Methods, []string{"GET", "POST"}) {
		t.Errorf("Methods = %q, want upper case without repeats", r.Methods)
	}
	if r.Request.Mode != ModeEncrypt || r.Response.Mode != ModeDecrypt {
		t.Errorf("modes = %q / %q, want encrypt and the response default decrypt", r.Request.Mode, r.Response.Mode)
	}
	if want := []string{"a", `b\.c`, `x.\*`, "l.0"}; !slices.Equal(r.Request.Fields, want) {
		t.Errorf("request fields = %q, want canonical %q", r.Request.Fields, want)
	}
	if r.Response.Require == nil || r.Response.Classification != "" {
		t.Errorf("response rule = %+v, want no classification and an empty require", *r.Response)
	}
	if !slices.Equal(r.Request.Require, []string{`k.\*`, `k\*`}) {
		t.Errorf("require = %q, want a key named * and an escaped * inside a key accepted", r.Request.Require)
	}
	none := mustRoute(t, s, p.ID, RouteInput{Path: "/health/**"})
	if none.Request != nil || none.Response != nil || none.Methods == nil {
		t.Errorf("route without rules = %+v, want nil phases and empty methods", none)
	}
}

func TestRouteLimit(t *testing.T) {
	s := openTestStore(t, "", newClock())
	s.db.NoSync = true
	p := mustProject(t, s, "full")
	q := mustProject(t, s, "other")
	for i := range MaxRoutes {
		mustRoute(t, s, p.ID, RouteInput{Path: fmt.Sprintf("/r%d", i)})
	}
	if _, err := s.CreateRoute(p.ID, RouteInput{Path: "/one-more"}); !errors.Is(err, ErrRouteLimit) {
		t.Fatalf("CreateRoute beyond %d = %v, want ErrRouteLimit", MaxRoutes, err)
	}
	mustRoute(t, s, q.ID, RouteInput{Path: "/a"}) // the cap is per project
	list, _ := s.Routes(p.ID)
	if _, err := s.DeleteRoute(p.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	mustRoute(t, s, p.ID, RouteInput{Path: "/again"})
	if cached, _ := s.CachedRoutes([]byte(p.ID)); len(cached) != MaxRoutes {
		t.Errorf("CachedRoutes() = %d routes, want %d", len(cached), MaxRoutes)
	}
}

func TestCachedRoutesVersions(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "v")
	q := mustProject(t, s, "w")
	mustClass(t, s, p.ID, "pii")
	mustClass(t, s, q.ID, "pii")
	id := []byte(p.ID)
	if rs, v := s.CachedRoutes(id); rs != nil || v != 0 {
		t.Errorf("CachedRoutes(no routes) = %v, %d, want nil, 0", rs, v)
	}
	seen := map[uint64]bool{0: true}
	step := func(what string) []Route {
		t.Helper()
		rs, v := s.CachedRoutes(id)
		if seen[v] {
			t.Errorf("CachedRoutes() version after %s = %d, want a version not seen before", what, v)
		}
		seen[v] = true
		stored, _ := s.Routes(p.ID)
		if !sameRoutes(rs, stored) {
			t.Errorf("CachedRoutes() after %s = %s, want what Routes() gives: %s", what, describeRoutes(rs), describeRoutes(stored))
		}
		return rs
	}
	r := mustRoute(t, s, p.ID, postsRoute())
	r.Methods[0], r.Request.Fields[0] = "CHANGED", "changed" // the caller's copy: the cache must not see it
	before := step("create")
	if before[0].Methods[0] != "POST" || before[0].Request.Fields[0] != "title" {
		t.Errorf("CachedRoutes() after the caller changed what CreateRoute returned = %+v, want it unaffected", before[0])
	}
	snapshot := describeRoutes(before)
	_, vq := s.CachedRoutes([]byte(q.ID))
	mustRoute(t, s, q.ID, RouteInput{Path: "/q"})
	if _, v := s.CachedRoutes(id); !seen[v] {
		t.Errorf("CachedRoutes(%s) version changed with a route of another project", p.ID)
	}
	if _, v := s.CachedRoutes([]byte(q.ID)); v == vq {
		t.Errorf("CachedRoutes(%s) version = %d after its first route, want a change", q.ID, v)
	}
	if _, err := s.UpdateRoute(p.ID, r.ID, RouteInput{Path: "/moved", Order: 3}); err != nil {
		t.Fatal(err)
	}
	step("update")
	if got := describeRoutes(before); got != snapshot || before[0].Request == nil {
		t.Errorf("a slice CachedRoutes returned before an update = %s, want it unchanged %s", got, snapshot)
	}
	mustRoute(t, s, p.ID, RouteInput{Path: "/second"})
	step("second create")
	if _, err := s.DeleteRoute(p.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	step("delete")
	list, _ := s.Routes(p.ID)
	if _, err := s.DeleteRoute(p.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if rs := step("deleting the last"); len(rs) != 0 {
		t.Errorf("CachedRoutes() after deleting every route = %d routes, want 0", len(rs))
	}
	mustRoute(t, s, p.ID, RouteInput{Path: "/third"})
	step("create after empty")
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	if rs, v := s.CachedRoutes(id); rs != nil || v != 0 {
		t.Errorf("CachedRoutes(deleted project) = %v, %d, want nil, 0", rs, v)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func TestRoutesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openTestStore(t, dir, c)
	p := mustProject(t, s, "keep")
	var want []string
	for i := range 3 {
		c.Advance(time.Second)
		want = append(want, mustRoute(t, s, p.ID, RouteInput{Path: fmt.Sprintf("/r%d", i), Order: 10 - i}).ID)
	}
	slices.Reverse(want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, c)
	rs, v := s2.CachedRoutes([]byte(p.ID))
	if !slices.Equal(routeIDs(rs), want) || v == 0 {
		t.Errorf("CachedRoutes() after reopening = %v (version %d), want %v and a version", routeIDs(rs), v, want)
	}
	for _, d := range cacheDiff(s2) {
		t.Error(d)
	}
}

func TestDeleteProjectDeletesRoutes(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "gone")
	q := mustProject(t, s, "stays")
	mustClass(t, s, p.ID, "pii")
	mustClass(t, s, q.ID, "pii")
	r := mustRoute(t, s, p.ID, postsRoute())
	keep := mustRoute(t, s, q.ID, postsRoute())
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(p.ID, r.ID); !errors.Is(err, ErrRouteNotFound) {
		t.Errorf("Route of a deleted project = %v, want ErrRouteNotFound", err)
	}
	s.kv.View(func(tx kvTx) error {
		if n := countPrefix(tx.Bucket(bucketRoutes), p.ID+"/"); n != 0 {
			t.Errorf("stored routes of the deleted project = %d, want 0", n)
		}
		return nil
	})
	if rs, _ := s.CachedRoutes([]byte(q.ID)); len(rs) != 1 || rs[0].ID != keep.ID {
		t.Errorf("CachedRoutes(other project) = %v, want [%s]", routeIDs(rs), keep.ID)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

// TestRouteWritesConcurrent races creates, updates and deletes of one
// project's routes; afterwards the cache must be what the file holds.
func TestRouteWritesConcurrent(t *testing.T) {
	s := openTestStore(t, "", newClock())
	s.db.NoSync = true
	p := mustProject(t, s, "race")
	var seed []Route
	for i := range 20 {
		seed = append(seed, mustRoute(t, s, p.ID, RouteInput{Path: fmt.Sprintf("/s%d", i)}))
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if _, err := s.CreateRoute(p.ID, RouteInput{Path: fmt.Sprintf("/n%d", i), Order: i % 3}); err != nil {
				t.Errorf("CreateRoute = %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.UpdateRoute(p.ID, seed[i].ID, RouteInput{Path: "/u", Order: -i}); err != nil && !errors.Is(err, ErrRouteNotFound) {
				t.Errorf("UpdateRoute = %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.DeleteRoute(p.ID, seed[(i+7)%20].ID); err != nil && !errors.Is(err, ErrRouteNotFound) {
				t.Errorf("DeleteRoute = %v", err)
			}
		}()
	}
	wg.Wait()
	if rs, _ := s.CachedRoutes([]byte(p.ID)); len(rs) != 20 {
		t.Errorf("CachedRoutes() = %d routes, want 20 (20 seeded, 20 created, 20 deleted)", len(rs))
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}
