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
