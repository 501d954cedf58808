package keystore

import (
	"errors"
	"reflect"
	"testing"
)

func TestRouteIndex(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "ix")
	r, err := s.CreateRoute(p.ID, RouteInput{Path: "/users/**", Request: &RoutePhase{
		Mode: "encrypt", Fields: []string{"email", " items.*.phone"},
		Index: []RouteIndex{{Field: "email", Normalize: "LOWER_TRIM"}, {Field: "items.*.phone", Normalize: "digits", Name: "phone_idx", Bytes: 8}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []RouteIndex{{"email", "lower_trim", "email_bidx", 16}, {"items.*.phone", "digits", "phone_idx", 8}}
	if !reflect.DeepEqual(r.Request.Index, want) {
		t.Errorf("CreateRoute index = %+v, want %+v", r.Request.Index, want)
	}
	got, err := s.Route(p.ID, r.ID)
	if err != nil || !reflect.DeepEqual(got.Request.Index, want) {
		t.Errorf("Route index = %+v, %v, want %+v", got.Request.Index, err, want)
	}

	tests := []struct {
		name  string
		in    RouteInput
		field string
	}{
		{"not among the fields", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"a"},
			Index: []RouteIndex{{Field: "b"}}}}, "request.index[0].field"},
		{"bad normalize", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"a"},
			Index: []RouteIndex{{Field: "a", Normalize: "lowercase"}}}}, "request.index[0].normalize"},
		{"bad bytes", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"a"},
			Index: []RouteIndex{{Field: "a", Bytes: 64}}}}, "request.index[0]"},
		{"decrypt rule", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "decrypt", Fields: []string{"a"},
			Index: []RouteIndex{{Field: "a"}}}}, "request.index"},
		{"response rule", RouteInput{Path: "/a", Response: &RoutePhase{Fields: []string{"a"},
			Index: []RouteIndex{{Field: "a"}}}}, "response.index"},
		{"twice", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"a"},
			Index: []RouteIndex{{Field: "a"}, {Field: "a", Normalize: "lower"}}}}, "request.index"},
		// The index would replace the value of a field named for
		// encryption: refused, rather than the value lost.
		{"a field where the index goes", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"a", "aBidx"},
			Index: []RouteIndex{{Field: "a"}}}}, "request.fields"},
		{"a field where the named index goes", RouteInput{Path: "/a", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"u.a", "u.a_idx"},
			Index: []RouteIndex{{Field: "u.a", Name: "a_idx"}}}}, "request.fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateRoute(p.ID, tt.in)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("CreateRoute = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}
