package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/events"
)

// lockedBuffer is a sink the writer and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for sc := bufio.NewScanner(bytes.NewReader(w.b.Bytes())); sc.Scan(); {
		out = append(out, sc.Text())
	}
	return out
}

// TestEventListIsTheSinksEvent: the admin API lists each event with the
// members the events sink wrote for it — a request without field names
// included, whose "fields" is [] in both.
func TestEventListIsTheSinksEvent(t *testing.T) {
	sink := &lockedBuffer{}
	l, err := events.Open(t.TempDir(), events.Options{MasterKey: bytes.Repeat([]byte{9}, 32), Sink: sink,
		CheckpointEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := newAdmEnvWith(t, func(o *Options) { o.Events = l })
	const project = "prj_aaaaaaaaaaaa"
	now := time.Now().UTC() // retention, which Prune runs, keeps 30 days
	for _, fields := range []string{"", "title,body"} {
		r := l.Acquire()
		r.Time, r.ProjectID, r.KeyID, r.Mode, r.Status = now, project, "qk_aaaaaaaaaaaa", "encrypt", 200
		r.SetMethod([]byte("POST"))
		r.SetPath([]byte("/proxy/" + project + "/posts"))
		r.SetFields([]byte(fields))
		l.Submit(r)
	}
	l.Record(events.Event{Type: events.TypeProjectUpdated, Time: now, ProjectID: project, Actor: "admin",
		Details: map[string]string{"changed": "name"}})
	if err := l.Prune(); err != nil { // writes what is queued first
		t.Fatal(err)
	}

	sinkByID := map[string]map[string]any{}
	lines := sink.lines()
	for deadline := time.Now().Add(10 * time.Second); len(lines) < 3 && time.Now().Before(deadline); lines = sink.lines() {
		time.Sleep(time.Millisecond) // the sink is written after the log, by a goroutine of its own
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("sink line %q: %v", line, err)
		}
		sinkByID[m["id"].(string)] = m
	}
	var page struct{ Items []map[string]any }
	if err := json.Unmarshal(e.callOK("GET", "/admin/v1/projects/"+project+"/events", "", 200).body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || len(sinkByID) != 3 {
		t.Fatalf("listed %d events, the sink has %d; want 3 each", len(page.Items), len(sinkByID))
	}
	for _, got := range page.Items {
		want := sinkByID[got["id"].(string)]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("listed event\n %v\nwant the sink's\n %v", got, want)
		}
		if got["type"] == "request" {
			if _, ok := got["fields"]; !ok {
				t.Errorf("listed request event %v has no fields member", got)
			}
		} else if _, ok := got["fields"]; ok {
			t.Errorf("listed admin event %v has a fields member", got)
		}
	}
}
