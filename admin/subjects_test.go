package admin

import (
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/events"
)

// subjectLog keeps the events recorded.
type subjectLog struct {
	mu  sync.Mutex
	got []events.Event
}

func (l *subjectLog) Record(e events.Event) { l.mu.Lock(); l.got = append(l.got, e); l.mu.Unlock() }
func (l *subjectLog) Query(events.Filter) ([]events.Event, string, error) {
	return nil, "", nil
}
func (l *subjectLog) VerifyWith(events.VerifyOptions) (events.VerifyResult, error) {
	return events.VerifyResult{}, nil
}

// TestAdminSubjects: GET tells none, active with its count, erased;
// DELETE erases once (subject.erased with the reference, never the id),
// then answers erased=false; ids with "/" work percent-encoded.
func TestAdminSubjects(t *testing.T) {
	log := new(subjectLog)
	e := newAdmEnvWith(t, func(o *Options) { o.Events = log })
	p := e.project(`{"name":"Subjects"}`)
	base := "/admin/v1/projects/" + p.ID + "/subjects/"
	id, path := "tenant/user-42", base+"tenant%2Fuser-42"
	m := admMembers(t, e.callOK("GET", path, "", 200).body)
	if string(m["state"]) != `"none"` || string(m["sealed_values"]) != "0" {
		t.Fatalf("GET unseen subject = %v, want state none", m)
	}
	kr, err := e.store.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := kr.SubjectRef([]byte(id))
	for range 3 {
		if _, _, err := kr.SubjectSealKey(ref[:], 2); err != nil {
			t.Fatal(err)
		}
	}
	m = admMembers(t, e.callOK("GET", path, "", 200).body)
	if string(m["state"]) != `"active"` || string(m["sealed_values"]) != "6" || string(m["created_at"]) == "null" {
		t.Fatalf("GET active subject = %s", e.callOK("GET", path, "", 200).body)
	}
	r := e.callOK("DELETE", path, "", 200)
	m = admMembers(t, r.body)
	if string(m["state"]) != `"erased"` || string(m["erased"]) != "true" || string(m["erased_at"]) == "null" {
		t.Fatalf("DELETE = %s, want erased", r.body)
	}
	if strings.Contains(string(r.body), "user-42") {
		t.Errorf("DELETE = %s: holds the subject id", r.body)
	}
	if m = admMembers(t, e.callOK("DELETE", path, "", 200).body); string(m["erased"]) != "false" {
		t.Errorf("second DELETE erased = %s, want false", m["erased"])
	}
	if m = admMembers(t, e.callOK("GET", path, "", 200).body); string(m["state"]) != `"erased"` {
		t.Errorf("GET after DELETE state = %s, want erased", m["state"])
	}
	var erasures []events.Event
	for _, ev := range log.got {
		if ev.Type == events.TypeSubjectErased {
			erasures = append(erasures, ev)
		}
		for k, v := range ev.Details {
			if strings.Contains(k+v, "user-42") {
				t.Errorf("event %s holds the subject id: %v", ev.Type, ev.Details)
			}
		}
	}
	if len(erasures) != 1 || erasures[0].Details["subject"] == "" || erasures[0].ProjectID != p.ID {
		t.Errorf("subject.erased events = %+v, want one with the reference", erasures)
	}
	e.want(e.call("GET", "/admin/v1/projects/nope/subjects/x", ""), "GET", "unknown project", 404)
	e.want(e.call("PUT", path, ""), "PUT", path, 405)
}

// TestAdminRouteSubjectField: routes take subject_field in JSON, show it,
// refuse it on a response rule naming the field, and preview shows it.
func TestAdminRouteSubjectField(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Routes"}`)
	routes := "/admin/v1/projects/" + p.ID + "/routes"
	r := e.callOK("POST", routes, `{"path":"/users/**","request":{"mode":"encrypt","fields":["user.email"],"subject_field":"user.id"}}`, 201)
	if !strings.Contains(string(r.body), `"subject_field":"user.id"`) {
		t.Errorf("POST route = %s, want subject_field", r.body)
	}
	bad := e.call("POST", routes, `{"path":"/x","response":{"fields":["a"],"subject_field":"id"}}`)
	if bad.status != 400 || !strings.Contains(string(bad.body), "subject_field") {
		t.Errorf("response rule with subject_field = %d %s, want 400 naming it", bad.status, bad.body)
	}
	preview := "/admin/v1/projects/" + p.ID + "/preview"
	for body, invalid := range map[string]bool{
		`{"method":"POST","path":"/users/1","body":{"user":{"id":"u-1","email":"a@b.c"}}}`: false,
		`{"method":"POST","path":"/users/1","body":{"user":{"id":7,"email":"a@b.c"}}}`:     true,
	} {
		out := string(e.callOK("POST", preview, body, 200).body)
		if !strings.Contains(out, `"subject_field":"user.id"`) || strings.Contains(out, `"subject_invalid":true`) != invalid || strings.Contains(out, "u-1") {
			t.Errorf("preview %s = %s, want subject_field shown, subject_invalid %v, no value", body, out, invalid)
		}
	}
}
