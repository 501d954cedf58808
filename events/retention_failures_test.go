package events

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// submitStatus submits a request event with the given status; a 401 has
// no key.
func submitStatus(l *Log, status, i int, at time.Time) {
	r := l.Acquire()
	r.Time, r.ProjectID, r.Mode, r.Status = at, "prj_a", "encrypt", status
	if status != 401 {
		r.KeyID = "qk_a"
	}
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte(fmt.Sprintf("/proxy/prj_a/items/%d", i)))
	r.SetRequestID([]byte(fmt.Sprintf("req_%d", i)))
	r.SetClientIP([]byte("10.9.9.9"))
	l.Submit(r)
}

func authFailed(at time.Time, n int) Event {
	return Event{Type: TypeAuthFailed, Time: at, ProjectID: "prj_a",
		Details: map[string]string{"client_ip": "10.9.9.9", "count": strconv.Itoa(n), "interval": "1m0s"}}
}

// failureLog writes, in this order: 3 admin events (evt_1..3), 4
// authenticated requests (200, 403, 429, 502; evt_4..7), 40 failures
// (401s, every tenth an auth.failed summary; evt_8..47), 1 admin event
// (evt_48), 5 more 401s (evt_49..53): 53 events, 45 of them failures.
func failureLog(t *testing.T, o Options) (*Log, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	l := openLog(t, t.TempDir(), o)
	for i := 0; i < 3; i++ {
		l.Record(Event{Type: TypeKeyCreated, Time: c.Now(), ProjectID: "prj_a", Actor: "admin"})
	}
	for i, status := range []int{200, 403, 429, 502} {
		submitStatus(l, status, i, c.Now())
	}
	for i := 0; i < 40; i++ {
		if i%10 == 9 {
			l.Record(authFailed(c.Now(), 10))
		} else {
			submitStatus(l, 401, 100+i, c.Now())
		}
	}
	l.Record(Event{Type: TypeKeyRevoked, Time: c.Now(), ProjectID: "prj_a", Actor: "admin"})
	for i := 0; i < 5; i++ {
		submitStatus(l, 401, 200+i, c.Now())
	}
	waitWritten(t, l, 53)
	return l, c
}

func TestRetentionPrunesFailuresFirst(t *testing.T) {
	l, _ := failureLog(t, Options{MaxCount: 20, MaxAge: time.Hour})
	defer l.Close()
	if err := l.Prune(); err != nil {
		t.Fatalf("Prune = %v", err)
	}
	page, _, err := l.Query(Filter{ProjectID: "prj_a", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]int{}
	for _, e := range page {
		switch {
		case e.Type == TypeRequest && e.Status == 401:
			kept["401"]++
		case e.Type == TypeAuthFailed:
			kept["auth.failed"]++
		case e.Type == TypeRequest:
			kept["authenticated"]++
		default:
			kept["admin"]++
		}
	}
	if len(page) != 20 || kept["admin"] != 4 || kept["authenticated"] != 4 {
		t.Fatalf("after Prune with MaxCount 20 the log holds %d events %v, want 20 with all 4 admin and 4 authenticated", len(page), kept)
	}
	// The 12 failures kept are the newest: evt_41..47 and evt_49..53.
	for _, e := range page {
		if seq, _ := strconv.Atoi(e.ID[4:]); (e.Type == TypeRequest && e.Status == 401 || e.Type == TypeAuthFailed) && seq < 41 {
			t.Errorf("after Prune an older failure %s is kept", e.ID)
		}
	}
	res, err := l.Verify()
	if err != nil || !res.OK || res.Checked != 20 {
		t.Errorf("Verify after pruning failures = %+v, %v, want ok over 20 entries", res, err)
	}
}

func TestRetentionByCountWithoutFailuresStillCuts(t *testing.T) {
	l, _ := failureLog(t, Options{MaxCount: 5, MaxAge: time.Hour})
	defer l.Close()
	if err := l.Prune(); err != nil {
		t.Fatalf("Prune = %v", err)
	}
	page, _, _ := l.Query(Filter{ProjectID: "prj_a", Limit: 1000})
	// Every failure goes first; then, with none left, the oldest of the
	// 8 others (the 3 key.created): the 4 requests and key.revoked stay.
	for _, e := range page {
		if e.Type == TypeAuthFailed || e.Status == 401 {
			t.Errorf("after Prune to 5 entries failure %s is kept", e.ID)
		}
	}
	if res, _ := l.Verify(); !res.OK || res.Checked != 5 || len(page) != 5 || page[0].Type != TypeKeyRevoked {
		t.Errorf("after Prune to 5: Verify = %+v, Query = %d events, want ok over 5, newest key.revoked", res, len(page))
	}
}
