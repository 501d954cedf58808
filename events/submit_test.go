package events

import (
	"log/slog"
	"math/rand"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// submitted is what a test keeps of a request before Submit takes it:
// the JSON the sink must get for it and its figures for OnWrite.
type submitted struct {
	json     string
	observed observed
}

// observed is what OnWrite is given of a request (what metrics read).
type observed struct {
	project, keyID, mode, route          string
	time                                 int64
	status, fieldCount                   int
	latency, upstream                    time.Duration
	rateLimited                          bool
	reqValues, respValues, untransformed int
}

func observe(r *Request) observed {
	return observed{r.ProjectID, r.KeyID, r.Mode, r.RouteID, r.Time.UnixNano(), r.Status, r.FieldCount(),
		r.Latency.Truncate(time.Microsecond), r.Upstream.Truncate(time.Microsecond), r.RateLimited,
		r.RequestValues, r.ResponseValues, r.Untransformed}
}

// submitRandom submits n random requests (see randomRequest), every 37th
// at a time a record cannot hold (stored as JSON), and returns what each
// was, in order; the first gets seq first.
func submitRandom(l *Log, rnd *rand.Rand, n int, first uint64) []submitted {
	var out []submitted
	for i := range n {
		r := l.Acquire()
		*r = *randomRequest(rnd)
		r.SetFields([]byte(strings.Repeat("f,", rnd.Intn(3)*MaxFieldNames))) // up to twice the names stored
		if i%37 == 5 {
			r.Time = time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC)
		}
		id := "evt_" + strconv.FormatUint(first+uint64(i), 10)
		out = append(out, submitted{string(appendRequest(nil, id, l.opts.InstanceID, r)), observe(r)})
		l.Submit(r)
	}
	return out
}

// TestSinkGetsEachRequestAsSubmitted: the sink's line of each request is
// the JSON of the request as it was submitted, byte for byte, whether it
// was stored as a record or as JSON: no pooled record is reused before
// the writer is done with it.
func TestSinkGetsEachRequestAsSubmitted(t *testing.T) {
	var sink syncBuffer
	l := openLog(t, t.TempDir(), Options{Sink: &sink, CheckpointEvery: -1, InstanceID: "inst_s", BatchDelay: time.Hour})
	want := submitRandom(l, rand.New(rand.NewSource(5)), 500, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.lines()
	if len(got) != len(want) {
		t.Fatalf("sink got %d lines, want %d", len(got), len(want))
	}
	for i, line := range got {
		if line != want[i].json {
			t.Fatalf("sink line %d:\n%s\nwant\n%s", i, line, want[i].json)
		}
	}
}

// TestOnWriteSeesEachRequestAsSubmitted: OnWrite is called once for each
// request, in order, after it is stored, with what was submitted, both
// for requests stored as records and as JSON; not for admin events.
func TestOnWriteSeesEachRequestAsSubmitted(t *testing.T) {
	var mu sync.Mutex
	var got []observed
	var l *Log
	var notStored int
	onWrite := func(r *Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, observe(r))
		if l.Written() < uint64(len(got)) {
			notStored++
		}
	}
	l = openLog(t, t.TempDir(), Options{OnWrite: onWrite, CheckpointEvery: -1, BatchDelay: time.Millisecond})
	rnd := rand.New(rand.NewSource(6))
	var want []submitted
	for range 4 {
		want = append(want, submitRandom(l, rnd, 100, 0)...)
		l.Record(Event{Type: TypeProjectCreated, Time: time.Unix(1e9, 0), ProjectID: "prj_a", Actor: "admin"})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("OnWrite saw %d requests, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i].observed {
			t.Fatalf("OnWrite's request %d = %+v, want %+v", i, got[i], want[i].observed)
		}
	}
	if notStored != 0 {
		t.Errorf("OnWrite saw %d requests before they were stored", notStored)
	}
}

// TestRecordBytesBoundTheQueue: requests with the largest records the
// limits allow are dropped, counted, once maxHeld bytes of them wait, long
// before QueueSize of them do; those queued are all written; and the
// records they were filled in are not kept with their long buffers.
func TestRecordBytesBoundTheQueue(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: time.Hour, BatchSize: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	long := strings.Repeat(strings.Repeat("n", MaxFieldNameBytes)+",", MaxFieldNames)
	const n = 2000
	for range n {
		r := l.Acquire()
		r.Time, r.ProjectID, r.Status = time.Unix(1e9, 0), "prj_a", 200
		r.SetFields([]byte(long))
		r.SetResponseFields([]byte(long))
		l.Submit(r)
	}
	l.mu.Lock()
	queued, held := len(l.queue), l.held
	l.mu.Unlock()
	if held > maxHeld || queued >= n || l.Dropped() != uint64(n-queued) {
		t.Errorf("%d queued holding %d bytes, %d dropped; want at most %d bytes and the rest dropped", queued, held, l.Dropped(), maxHeld)
	}
	if queued < maxHeld/(40<<10) {
		t.Errorf("only %d queued: the bound is in bytes (%d), each request's about 33 KiB", queued, maxHeld)
	}
	if err := l.Prune(); err != nil { // the writer drains the queue first
		t.Fatal(err)
	}
	if l.Written() != uint64(queued) {
		t.Errorf("written %d, want the %d queued", l.Written(), queued)
	}
	l.mu.Lock()
	held = l.held
	l.mu.Unlock()
	if held != 0 {
		t.Errorf("%d bytes held after every queued request was written, want 0", held)
	}
	if r := l.Acquire(); r.capacity() > maxKept {
		t.Errorf("a pooled record keeps %d bytes of buffers, want at most %d", r.capacity(), maxKept)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBuffersNameEveryByteField: size counts every []byte field of
// Request but the arena they are views of, so a field added later is not
// left out of the bound; and each Set method writes into the arena, so
// that a record's bytes sit together (size is the arena's length when
// each is set once).
func TestBuffersNameEveryByteField(t *testing.T) {
	var r Request
	n := 0
	for f := range reflect.TypeOf(r).Fields() {
		if f.Type == reflect.TypeOf([]byte(nil)) && f.Name != "arena" {
			n++
		}
	}
	if got := len(r.buffers()); got != n {
		t.Errorf("buffers() lists %d fields, Request has %d of type []byte besides the arena", got, n)
	}
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte("/proxy/prj_x/orders"))
	r.SetFields([]byte("card, ssn"))
	r.SetResponseFields([]byte("email"))
	r.SetClassification([]byte("pci"))
	r.SetDestination([]byte("https://api.example"))
	r.SetGeofence([]byte("eu"))
	r.SetRequestID([]byte("req_1"))
	r.SetClientIP([]byte("10.0.0.1"))
	r.SetSubject([]byte("subj_ref"))
	for i, b := range r.buffers() {
		if len(b) == 0 {
			t.Fatalf("buffers()[%d] is empty after every Set method: a Set method is missing here", i)
		}
	}
	if r.size() != len(r.arena) {
		t.Errorf("size() = %d after setting each field once, arena holds %d: a Set method writes outside the arena", r.size(), len(r.arena))
	}
	if string(r.fields) != "card,ssn" || string(r.path) != "/proxy/prj_x/orders" || string(r.subject) != "subj_ref" {
		t.Errorf("views: fields %q path %q subject %q", r.fields, r.path, r.subject)
	}
	r.SetMethod([]byte("GET")) // set again: the new value, the others kept
	if string(r.method) != "GET" || string(r.requestID) != "req_1" {
		t.Errorf("after a second SetMethod: method %q request id %q", r.method, r.requestID)
	}
}
