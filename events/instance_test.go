package events

import (
	"testing"
	"time"
)

// TestInstanceIDInEveryEvent: a log opened with an InstanceID writes it
// into request and admin events alike, and they verify.
func TestInstanceIDInEveryEvent(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{InstanceID: "inst_a", BatchDelay: time.Millisecond})
	defer l.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	submit(l, "prj_a", "qk_a", 1, at)
	l.Record(Event{Type: TypeProjectUpdated, Time: at.Add(time.Second), ProjectID: "prj_a", Actor: "admin"})
	waitWritten(t, l, 2)
	list, _, err := l.Query(Filter{ProjectID: "prj_a"})
	if err != nil || len(list) != 2 {
		t.Fatalf("Query = %d events, %v; want 2", len(list), err)
	}
	for _, e := range list {
		if e.InstanceID != "inst_a" {
			t.Errorf("%s event's instance_id = %q, want inst_a", e.Type, e.InstanceID)
		}
	}
	if res, err := l.Verify(); err != nil || !res.OK {
		t.Errorf("Verify() = %+v, %v; want ok", res, err)
	}
}
