package keystore

import (
	"errors"
	"testing"
)

// TestRouteSubjectField: an encrypting request rule keeps its
// subject_field across a restart; anywhere else, or with a '*', it is
// refused naming the field.
func TestRouteSubjectField(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "routes")
	r, err := s.CreateRoute(p.ID, RouteInput{Path: "/users/**",
		Request: &RoutePhase{Mode: "encrypt", Fields: []string{"email"}, SubjectField: "user.id"}})
	if err != nil || r.Request.SubjectField != "user.id" {
		t.Fatalf("CreateRoute = %+v, %v; want subject_field user.id", r.Request, err)
	}
	for name, in := range map[string]RouteInput{
		"decrypt":  {Path: "/a", Request: &RoutePhase{Mode: "decrypt", Fields: []string{"x"}, SubjectField: "id"}},
		"response": {Path: "/b", Response: &RoutePhase{Fields: []string{"x"}, SubjectField: "id"}},
		"wildcard": {Path: "/c", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"x"}, SubjectField: "users.*.id"}},
	} {
		var fe *FieldError
		if _, err := s.CreateRoute(p.ID, in); !errors.As(err, &fe) || fe.Field[len(fe.Field)-13:] != "subject_field" {
			t.Errorf("%s: CreateRoute = %v, want a FieldError on subject_field", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, c)
	got, err := s2.Route(p.ID, r.ID)
	if err != nil || got.Request.SubjectField != "user.id" {
		t.Errorf("Route after restart = %+v, %v; want subject_field user.id", got.Request, err)
	}
}
