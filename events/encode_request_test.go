package events

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"strconv"
	"testing"
	"time"
)

// event is the oracle of appendRequest: the record as an Event, encoded
// by appendEvent.
func (r *Request) event() Event {
	e := Event{
		Type: TypeRequest, Time: r.Time.UTC(), ProjectID: r.ProjectID,
		Method: string(r.method), Path: string(r.path), Mode: r.Mode,
		Fields: fieldNames(string(r.fields)), Status: r.Status,
		LatencyMS: float64(r.Latency.Microseconds()) / 1000, UpstreamMS: float64(r.Upstream.Microseconds()) / 1000,
		RequestID: string(r.requestID), ClientIP: string(r.clientIP),
		Classification: optional(r.class), Destination: optional(r.dest), Geofence: optional(r.geofence),
		RouteID: r.RouteID, ResponseFields: fieldNames(string(r.respFields)),
		RequestValues: r.RequestValues, ResponseValues: r.ResponseValues, Untransformed: r.Untransformed,
		Subject: string(r.subject),
	}
	if r.KeyID != "" {
		id := r.KeyID
		e.KeyID = &id
	}
	rl := r.RateLimited
	e.RateLimited = &rl
	if e.Fields == nil {
		e.Fields = []string{}
	}
	return e
}

func optional(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// fieldNames splits an X-Qanapi-Fields value into names.
func fieldNames(list string) []string {
	var out []string
	forEachField([]byte(list), func(f []byte) { out = append(out, string(f)) })
	return out
}

func TestAppendRequestMatchesEvent(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		r := randomRequest(rnd)
		e := r.event()
		e.ID = "evt_7"
		e.InstanceID = []string{"", "inst_a", "inst_\"q"}[rnd.Intn(3)]
		want := appendEvent(nil, &e)
		got := appendRequest(nil, "evt_7", e.InstanceID, r)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendRequest = %s\nwant (appendEvent of the Event) %s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("appendRequest = %s, not JSON", got)
		}
	}
}

// randomRequest is a request record with members picked from values
// that JSON escapes, replaces or splits.
func randomRequest(rnd *rand.Rand) *Request {
	words := []string{"", "a", " title , body ", "x\u00e9,\t y ", "q\"u", "\x01", "é🙂", "bad\xff", ",,", "a.b,*.c"}
	pick := func() []byte { return []byte(words[rnd.Intn(len(words))]) }
	r := &Request{
		Time: time.Unix(rnd.Int63n(2e9), rnd.Int63n(1e9)), ProjectID: string(pick()), KeyID: string(pick()),
		Mode: string(pick()), Status: rnd.Intn(3) * 200, Latency: time.Duration(rnd.Int63n(5e6)), RateLimited: rnd.Intn(2) == 1,
		Upstream: time.Duration(rnd.Intn(2)) * time.Duration(rnd.Int63n(5e6)), // none half of the time
	}
	r.SetMethod(pick())
	r.SetPath(pick())
	r.SetFields(pick())
	r.SetClassification(pick())
	r.SetDestination(pick())
	r.SetGeofence(pick())
	r.SetRequestID(pick())
	r.SetClientIP(pick())
	r.SetSubject(pick())
	r.RouteID = string(pick())
	r.SetResponseFields(pick())
	r.RequestValues, r.ResponseValues, r.Untransformed = rnd.Intn(3), rnd.Intn(3), rnd.Intn(2)
	return r
}

func TestAppendRequestAllocs(t *testing.T) {
	r := &Request{Time: time.Now(), ProjectID: "prj_a", KeyID: "qk_a", Mode: "encrypt", Status: 200,
		Latency: 1234567 * time.Nanosecond, Upstream: 987654 * time.Nanosecond}
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte("/proxy/prj_a/a-path-longer-than-thirty-two-bytes/items"))
	r.SetFields([]byte("title, body, a.field.name.longer.than.thirty.two.bytes"))
	buf := appendRequest(nil, "evt_1", "inst_a", r)
	if n := testing.AllocsPerRun(100, func() { buf = appendRequest(buf[:0], "evt_1", "inst_a", r) }); n != 0 {
		t.Errorf("appendRequest allocs = %v, want 0", n)
	}
}

// TestAppendRequestUpstream: upstream_ms follows latency_ms when an
// upstream was called, and is absent when the proxy answered itself.
func TestAppendRequestUpstream(t *testing.T) {
	for _, tc := range []struct {
		latency, upstream time.Duration
		want              string
	}{
		{2 * time.Millisecond, 1500 * time.Microsecond, `"latency_ms":2,"upstream_ms":1.5,`},
		{2 * time.Millisecond, 0, `"latency_ms":2,"request_id"`},
	} {
		r := &Request{Time: time.Unix(0, 0), Status: 200, Latency: tc.latency, Upstream: tc.upstream}
		r.SetRequestID([]byte("req_1"))
		if got := appendRequest(nil, "evt_1", "inst_a", r); !bytes.Contains(got, []byte(tc.want)) {
			t.Errorf("appendRequest(latency %v, upstream %v) = %s, want it to hold %s", tc.latency, tc.upstream, got, tc.want)
		}
	}
}

// BenchmarkAppendRequest encodes one request event as the writer does.
func BenchmarkAppendRequest(b *testing.B) {
	r := benchRequest()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendRequest(buf[:0], "evt_123456", "inst_a", r)
	}
}

func TestAppendTimeAndMillisMatchTheStandardLibrary(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)),
		time.Date(2026, 6, 7, 8, 9, 10, 1, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
	for _, us := range []int64{1, 9, 10, 100, 999, 1000, 1001, 1010, 1100, 1234, 123456789, 999999999999, -5, 1 << 53} {
		if got, want := string(appendMillis(nil, us)), strconv.FormatFloat(float64(us)/1000, 'f', -1, 64); got != want {
			t.Errorf("appendMillis(%d) = %s, want %s", us, got, want)
		}
	}
}
