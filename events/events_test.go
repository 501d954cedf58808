package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var testKey = bytes.Repeat([]byte{3}, 32)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openLog(t *testing.T, dir string, o Options) *Log {
	t.Helper()
	o.MasterKey = testKey
	if o.PruneEvery == 0 {
		o.PruneEvery = time.Hour
	}
	l, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	return l
}

func submit(l *Log, project, key string, i int, at time.Time) {
	r := l.Acquire()
	r.Time, r.ProjectID, r.KeyID, r.Mode, r.Status = at, project, key, "encrypt", 200
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte(fmt.Sprintf("/proxy/%s/items/%d", project, i)))
	r.SetFields([]byte(" title, body "))
	r.SetRequestID([]byte(fmt.Sprintf("req_%d", i)))
	r.SetClientIP([]byte("127.0.0.1"))
	l.Submit(r)
}

func TestEveryEventSurvivesCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	const n = 10000
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		submit(l, "prj_a", "qk_a", i, now)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Dropped() != 0 || l.Written() != n {
		t.Fatalf("written %d dropped %d, want %d and 0", l.Written(), l.Dropped(), n)
	}
	l = openLog(t, dir, Options{})
	defer l.Close()
	total, cursor := 0, ""
	seen := map[string]bool{}
	for {
		page, next, err := l.Query(Filter{ProjectID: "prj_a", Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			seen[e.RequestID] = true
		}
		total += len(page)
		if next == "" {
			break
		}
		cursor = next
	}
	if total != n || len(seen) != n {
		t.Errorf("Query pages = %d events (%d distinct), want %d", total, len(seen), n)
	}
	res, err := l.Verify()
	if err != nil || !res.OK || res.Checked != n {
		t.Errorf("Verify = %+v, %v, want ok over %d", res, err, n)
	}
}

func TestQueryFiltersNewestFirst(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openLog(t, t.TempDir(), Options{Now: c.Now})
	defer l.Close()
	for i := 0; i < 6; i++ {
		key := []string{"qk_a", "qk_b"}[i%2]
		submit(l, "prj_a", key, i, c.Now())
		c.Add(time.Minute)
	}
	submit(l, "prj_b", "qk_c", 99, c.Now())
	l.Record(Event{Type: TypeKeyRevoked, Time: c.Now(), ProjectID: "prj_a", Actor: "admin"})
	waitWritten(t, l, 8)
	page, _, _ := l.Query(Filter{ProjectID: "prj_a"})
	if len(page) != 7 || page[0].Type != TypeKeyRevoked || page[len(page)-1].RequestID != "req_0" {
		t.Fatalf("Query(prj_a) = %d events, first %s, want 7 newest first", len(page), page[0].Type)
	}
	if got := page[1].Fields; len(got) != 2 || got[0] != "title" || got[1] != "body" {
		t.Errorf("Fields = %q, want [title body]", got)
	}
	byKey, _, _ := l.Query(Filter{ProjectID: "prj_a", KeyID: "qk_b"})
	byType, _, _ := l.Query(Filter{ProjectID: "prj_a", Type: "key."})
	since, _, _ := l.Query(Filter{ProjectID: "prj_a", Type: TypeRequest, Since: page[0].Time.Add(-3 * time.Minute)})
	after, _, _ := l.Query(Filter{ProjectID: "prj_a", After: page[2].ID})
	for _, tc := range []struct {
		name string
		got  []Event
		want int
	}{{"key", byKey, 3}, {"type prefix", byType, 1}, {"since", since, 3}, {"after", after, 2}} {
		if len(tc.got) != tc.want {
			t.Errorf("Query by %s = %d events, want %d", tc.name, len(tc.got), tc.want)
		}
	}
	if _, _, err := l.Query(Filter{ProjectID: "prj_a", Cursor: "nope"}); err != ErrBadCursor {
		t.Errorf("Query(bad cursor) = %v, want ErrBadCursor", err)
	}
}

// waitWritten waits for the writer; it polls the counter (no fixed sleep).
func waitWritten(t *testing.T, l *Log, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Written() < n {
		if time.Now().After(deadline) {
			t.Fatalf("writer wrote %d events, want %d", l.Written(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestVerifyNamesEveryChangedByte(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	defer l.Close()
	for i := 0; i < 5; i++ {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	waitWritten(t, l, 5)
	l.db.NoSync = true // thousands of rewrites; durability is not under test here
	for seq := uint64(1); seq <= 5; seq++ {
		var orig []byte
		l.db.View(func(tx *bolt.Tx) error {
			orig = append([]byte(nil), getEntry(tx, seq)...)
			return nil
		})
		for pos := range orig {
			changed := append([]byte(nil), orig...)
			changed[pos] ^= 0x01
			put(t, l, seq, changed)
			res, err := l.Verify()
			if err != nil || res.OK || res.Broken.Seq != seq {
				t.Fatalf("Verify after changing byte %d of entry %d = %+v, %v, want broken at %d", pos, seq, res, err, seq)
			}
		}
		put(t, l, seq, orig)
	}
	if res, _ := l.Verify(); !res.OK {
		t.Fatalf("Verify after restoring = %+v, want ok", res)
	}
	l.db.Update(func(tx *bolt.Tx) error { return deleteEntry(tx, 3) })
	if res, _ := l.Verify(); res.OK || res.Broken.Seq != 4 {
		t.Errorf("Verify after deleting entry 3 = %+v, want broken at 4", res)
	}
}

func put(t *testing.T, l *Log, seq uint64, v []byte) {
	t.Helper()
	if err := l.db.Update(func(tx *bolt.Tx) error { return putEntry(tx, seq, v) }); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionKeepsChainVerifiable(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openLog(t, t.TempDir(), Options{Now: c.Now, MaxCount: 5, MaxAge: time.Hour})
	defer l.Close()
	for i := 0; i < 20; i++ {
		submit(l, "prj_a", "qk_a", i, c.Now())
	}
	waitWritten(t, l, 20)
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	res, _ := l.Verify()
	if !res.OK || res.Checked != 5 || res.FirstSeq != 16 {
		t.Fatalf("Verify after count pruning = %+v, want ok over 16..20", res)
	}
	c.Add(2 * time.Hour)
	submit(l, "prj_a", "qk_a", 20, c.Now())
	waitWritten(t, l, 21)
	l.Prune()
	res, _ = l.Verify()
	page, _, _ := l.Query(Filter{ProjectID: "prj_a"})
	if !res.OK || res.Checked != 1 || len(page) != 1 {
		t.Fatalf("after age pruning: Verify = %+v, Query = %d, want ok with 1 entry", res, len(page))
	}
	l.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		v := append([]byte(nil), m.Get(metaAnchor)...)
		v = bytes.Replace(v, []byte(`"seq":21`), []byte(`"seq":20`), 1)
		return m.Put(metaAnchor, v)
	})
	if res, _ := l.Verify(); res.OK {
		t.Errorf("Verify with a changed anchor = ok, want broken")
	}
}

func TestFullQueueCountsDrops(t *testing.T) {
	var sink bytes.Buffer
	// No checkpoints: the sink is to hold the written events only.
	l := openLog(t, t.TempDir(), Options{QueueSize: 1, BatchDelay: time.Hour, BatchSize: 1 << 20, Sink: &sink, CheckpointEvery: -1})
	const n = 1000
	for i := 0; i < n; i++ {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	l.Close()
	if l.Dropped() == 0 || l.Written()+l.Dropped() != n {
		t.Errorf("written %d + dropped %d, want %d with some dropped", l.Written(), l.Dropped(), n)
	}
	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	if uint64(len(lines)) != l.Written() {
		t.Errorf("sink has %d lines, want %d", len(lines), l.Written())
	}
	var e Event
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Type != TypeRequest {
		t.Errorf("sink line %q = %+v, %v, want a request event", lines[0], e, err)
	}
}

func TestSecondOpenLocked(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	defer l.Close()
	if _, err := Open(dir, Options{MasterKey: testKey, LockTimeout: 50 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open = %v, want locked", err)
	}
}

// TestRecordIsWrittenAtOnce: an admin event does not wait for the flush
// interval (an hour here): whoever made the change may look for it.
func TestRecordIsWrittenAtOnce(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{BatchDelay: time.Hour, CheckpointEvery: -1})
	defer l.Close()
	submit(l, "prj_a", "qk_a", 1, time.Unix(1e9, 0)) // a request waits for the interval…
	l.Record(Event{Type: TypeKeyCreated, Time: time.Unix(1e9, 0), ProjectID: "prj_a", Actor: "admin"})
	waitWritten(t, l, 2) // …and goes with the admin event
}
