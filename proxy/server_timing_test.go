package proxy

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

func TestAppendMillis(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{999 * time.Nanosecond, "0"}, // whole microseconds, cut
		{time.Microsecond, "0.001"},
		{10 * time.Microsecond, "0.01"},
		{500 * time.Microsecond, "0.5"},
		{time.Millisecond, "1"},
		{3141592 * time.Nanosecond, "3.141"},
		{12*time.Millisecond + 340*time.Microsecond, "12.34"},
		{90 * time.Second, "90000"},
		{-time.Millisecond, "0"},
	} {
		if got := string(appendMillis(nil, tc.d)); got != tc.want {
			t.Errorf("appendMillis(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// timingSink keeps the durations of every request record.
type timingSink struct {
	mu   sync.Mutex
	recs []events.Request // Latency, Upstream and Status only
}

func (s *timingSink) Acquire() *events.Request { return new(events.Request) }
func (s *timingSink) Submit(r *events.Request) {
	s.mu.Lock()
	s.recs = append(s.recs, events.Request{Status: r.Status, Latency: r.Latency, Upstream: r.Upstream})
	s.mu.Unlock()
}

func (s *timingSink) last(t *testing.T) events.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		t.Fatal("no request record submitted")
	}
	return s.recs[len(s.recs)-1]
}

// TestServerTiming checks the Server-Timing line of every kind of answer
// and the event's split of the same times, on the settable clock: the
// fake upstream moves it by 5 ms while it holds the request, so the
// durations are exact and the test does not time anything.
func TestServerTiming(t *testing.T) {
	sink := &timingSink{}
	e := newRTEnv(t, rtOptions{events: sink})
	e.upstream("slow.test:80", func(int, *fasthttp.Request) []byte {
		e.clock.Advance(5 * time.Millisecond)
		return rtAnswer(200, "application/json", `{"ok":true}`, "Server-Timing: db;dur=2.5, cache;desc=\"hit\"")
	})
	fwd := e.project("http://slow.test/api")
	key := e.key(fwd.ID, keystore.KeyInput{})
	gone := e.project("http://gone.test") // nothing listens: 502
	goneKey := e.key(gone.ID, keystore.KeyInput{})
	one := keystore.RateLimit{RequestsPerSecond: 1, Burst: 1}
	limited := e.projectIn(keystore.ProjectInput{RateLimit: &one})
	limitedKey := e.key(limited.ID, keystore.KeyInput{})
	e.do("POST", "/proxy/"+limited.ID, `{}`, HeaderAuthorization, limitedKey) // the bucket's one token
	// A wrong but well-formed key: the last character changed.
	wrongKey := key[:len(key)-1] + "x"
	if strings.HasSuffix(key, "x") {
		wrongKey = key[:len(key)-1] + "y"
	}

	cases := []struct {
		name, method, path, key string
		headers                 []string
		status                  int
		// want is the Server-Timing of the answer: the upstream's line
		// (if any), then the proxy's.
		want     string
		upstream time.Duration // the event's Upstream
	}{
		{"forwarded", "POST", "/proxy/" + fwd.ID + "/orders", key, []string{HeaderFields, "ssn"}, 200,
			"db;dur=2.5, cache;desc=\"hit\"\nproxy;dur=0, upstream;dur=5", 5 * time.Millisecond},
		{"transformed and answered", "POST", "/proxy/" + fwd.ID, key, []string{HeaderFields, "ssn"}, 200, "proxy;dur=0", 0},
		{"direct API", "POST", "/api-v1/v1/encrypt", key, nil, 200, "proxy;dur=0", 0},
		{"unreachable upstream", "GET", "/proxy/" + gone.ID + "/x", goneKey, nil, 502, "proxy;dur=0, upstream;dur=0", 0},
		{"rate limited", "POST", "/proxy/" + limited.ID, limitedKey, nil, 429, "proxy;dur=0", 0},
		// A refused key gets no timing, whatever was wrong with it.
		{"unauthorized", "GET", "/proxy/" + fwd.ID + "/x", "qk_nope", nil, 401, "", 0},
		{"unauthorized, well-formed", "GET", "/proxy/" + fwd.ID + "/x", wrongKey, nil, 401, "", 0},
		{"not found", "GET", "/elsewhere", "", nil, 404, "proxy;dur=0", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := append([]string{HeaderAuthorization, tc.key}, tc.headers...)
			body := `{"ssn":"123-45-6789"}`
			if strings.HasPrefix(tc.path, "/api-v1/") {
				body = `{"data":"123-45-6789"}`
			}
			r := e.do(tc.method, tc.path, body, h...)
			if r.status != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
			if got := r.header[HeaderServerTiming]; got != tc.want {
				t.Errorf("%s %s: Server-Timing = %q, want %q", tc.method, tc.path, got, tc.want)
			}
			if tc.status == 401 || tc.status == 404 {
				return // summarised or not a request of a project: no record to check
			}
			rec := sink.last(t)
			if rec.Status != tc.status || rec.Upstream != tc.upstream || rec.Latency != tc.upstream {
				t.Errorf("%s %s: record status %d, latency %v, upstream %v; want %d, %v, %v",
					tc.method, tc.path, rec.Status, rec.Latency, rec.Upstream, tc.status, tc.upstream, tc.upstream)
			}
		})
	}
}

// serverTimingRE is the proxy's Server-Timing line of a forwarded answer.
var serverTimingRE = regexp.MustCompile(`^proxy;dur=(\d+(?:\.\d{1,3})?), upstream;dur=(\d+(?:\.\d{1,3})?)$`)

// TestServerTimingRealClock checks the line's form on the real clock: two
// non-negative durations in milliseconds, at most 3 decimals; the event
// has the upstream's part of a latency at least as long. No duration is
// compared with a wait.
func TestServerTimingRealClock(t *testing.T) {
	sink := &timingSink{}
	e := newRTEnv(t, rtOptions{events: sink, realClock: true})
	e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key)
	if r.status != 200 {
		t.Fatalf("GET = %d %s, want 200", r.status, r.body)
	}
	m := serverTimingRE.FindStringSubmatch(r.header[HeaderServerTiming])
	if m == nil {
		t.Fatalf("Server-Timing = %q, want %s", r.header[HeaderServerTiming], serverTimingRE)
	}
	for _, v := range m[1:] {
		if ms, err := strconv.ParseFloat(v, 64); err != nil || ms < 0 {
			t.Errorf("Server-Timing duration %q = %v, %v; want a number ≥ 0", v, ms, err)
		}
	}
	if rec := sink.last(t); rec.Upstream <= 0 || rec.Latency < rec.Upstream {
		t.Errorf("record latency %v, upstream %v; want 0 < upstream ≤ latency", rec.Latency, rec.Upstream)
	}
}

// TestConnectionCannotUndoKeyDependent: an upstream whose Connection
// header names Cache-Control and Vary must not strip what marks a
// decrypted answer as private to the key.
func TestConnectionCannotUndoKeyDependent(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	token := e.seal(p.ID, key, `"Ann"`)
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `{"name":`+token+`}`,
			"Connection: Cache-Control, Vary, X-Hop", "Cache-Control: public, max-age=600", "Vary: Accept", "X-Hop: 1", "X-Kept: 1")
	})
	r := e.do("GET", "/proxy/"+p.ID+"/people/1", "", HeaderAuthorization, key, HeaderResponseFields, "name")
	if r.status != 200 || string(r.body) != `{"name":"Ann"}` {
		t.Fatalf("GET = %d %s, want 200 and the name decrypted", r.status, r.body)
	}
	if r.header["Cache-Control"] != "private, no-store" || r.header["Vary"] != HeaderAuthorization {
		t.Errorf("Cache-Control = %q, Vary = %q; want %q and %q", r.header["Cache-Control"], r.header["Vary"], "private, no-store", HeaderAuthorization)
	}
	if _, ok := r.header["X-Hop"]; ok || r.header["X-Kept"] != "1" {
		t.Errorf("headers = %v, want X-Hop (named in Connection) dropped and X-Kept kept", r.header)
	}
}
