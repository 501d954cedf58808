package proxy

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// budgetAudit keeps the events recorded through AuditLog, and the
// request records' status and rate_limited.
type budgetAudit struct {
	mu          sync.Mutex
	evs         []events.Event
	rateLimited map[int]int // by status: how many records said rate_limited
	statuses    map[int]int
}

func (a *budgetAudit) Acquire() *events.Request { return new(events.Request) }

func (a *budgetAudit) Submit(r *events.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.statuses == nil {
		a.statuses, a.rateLimited = map[int]int{}, map[int]int{}
	}
	a.statuses[r.Status]++
	if r.RateLimited {
		a.rateLimited[r.Status]++
	}
}

func (a *budgetAudit) Record(e events.Event) {
	a.mu.Lock()
	a.evs = append(a.evs, e)
	a.mu.Unlock()
}

func (a *budgetAudit) ofType(typ string) []events.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []events.Event
	for _, e := range a.evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// budgetEnv is a project whose upstream answers GET /records with two
// tokens, decrypted by a route, and keys with a budget of 3 per hour.
type budgetEnv struct {
	*rtEnv
	audit        *budgetAudit
	p            keystore.Project
	key, masked  string // budgeted: decrypt and decrypt_masked
	plain        string // no budget
	tok          string // a token of "123-45-6789", quoted
	upstreamHits func() int
}

var testBudget = keystore.Budget{Values: 3, Per: time.Hour}

func newBudgetEnv(t *testing.T) *budgetEnv {
	a := &budgetAudit{}
	e := &budgetEnv{rtEnv: newRTEnv(t, rtOptions{audit: a, events: a}), audit: a}
	e.p = e.project("http://up.test/api")
	e.plain = e.rtEnv.key(e.p.ID, keystore.KeyInput{})
	e.tok = e.seal(e.p.ID, e.plain, `"123-45-6789"`)
	answer := `{"a":` + e.tok + `,"b":` + e.tok + `}`
	u := e.upstream("up.test:80", func(int, *fasthttp.Request) []byte { return rtAnswer(200, "application/json", answer) })
	e.upstreamHits = func() int { return len(u.requests()) }
	route := keystore.RouteInput{Methods: []string{"GET"}, Path: "/records", Response: &keystore.RoutePhase{Fields: []string{"a", "b"}}}
	if _, err := e.store.CreateRoute(e.p.ID, route); err != nil {
		t.Fatal(err)
	}
	b := testBudget
	e.key = e.rtEnv.key(e.p.ID, keystore.KeyInput{DecryptBudget: &b})
	e.masked = e.rtEnv.key(e.p.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecryptMasked}, DecryptBudget: &b})
	return e
}

// retryAfter is the Retry-After of a refusal at the clock's time: whole
// seconds to the end of the hour.
func (e *budgetEnv) retryAfter() string {
	_, end := testBudget.Window(e.clock.Now())
	return strconv.Itoa(int(math.Ceil(end.Sub(e.clock.Now()).Seconds())))
}

func (e *budgetEnv) refused(t *testing.T, what string, r response) {
	t.Helper()
	rtErrorShape(t, what, r, 429, "decrypt_budget_exhausted")
	if got, want := r.header["Retry-After"], e.retryAfter(); got != want {
		t.Errorf("%s Retry-After = %q, want %q (seconds to the window's end)", what, got, want)
	}
	if strings.Contains(string(r.body), "123-45") {
		t.Errorf("%s body = %s: a refusal must reveal nothing", what, r.body)
	}
}

// nextWindow moves the clock to the start of the next window.
func (e *budgetEnv) nextWindow() {
	_, end := testBudget.Window(e.clock.Now())
	e.clock.Set(end)
}

// TestBudgetDirect: the direct API counts each decrypted value; a request
// the budget cannot cover in full decrypts nothing; encrypting is never
// refused; the next window starts afresh.
func TestBudgetDirect(t *testing.T) {
	e := newBudgetEnv(t)
	two := `{"data":[` + e.tok + `,` + e.tok + `]}`
	one := `{"data":` + e.tok + `}`
	if r := e.do("POST", pathDirectDecrypt, two, HeaderAuthorization, e.key); r.status != 200 {
		t.Fatalf("decrypt 2 of 3 = %d %s, want 200", r.status, r.body)
	}
	e.refused(t, "decrypt 2 with 1 left", e.do("POST", pathDirectDecrypt, two, HeaderAuthorization, e.key))
	if r := e.do("POST", pathDirectDecrypt, one, HeaderAuthorization, e.key); r.status != 200 || string(jsonField(t, r.body, "data")) != `"123-45-6789"` {
		t.Fatalf("decrypt the last 1 = %d %s, want 200 and the value", r.status, r.body)
	}
	e.refused(t, "decrypt 1 with 0 left", e.do("POST", pathDirectDecrypt, one, HeaderAuthorization, e.key))
	if r := e.do("POST", pathDirectEncrypt, `{"data":"x"}`, HeaderAuthorization, e.key); r.status != 200 {
		t.Errorf("encrypt with the budget spent = %d %s, want 200", r.status, r.body)
	}
	if r := e.do("POST", pathDirectDecrypt, two, HeaderAuthorization, e.plain); r.status != 200 {
		t.Errorf("decrypt with a key without budget = %d %s, want 200", r.status, r.body)
	}
	if got := e.audit.ofType(events.TypeKeyBudgetExhausted); len(got) != 1 || *got[0].KeyID != rtKeyID(e.key) ||
		got[0].Details["values"] != "3" || got[0].Details["per"] != "1h" || got[0].Details["window_end"] == "" {
		t.Errorf("key.budget_exhausted events = %+v, want one for %s with values, per and the window", got, rtKeyID(e.key))
	}
	e.nextWindow()
	if r := e.do("POST", pathDirectDecrypt, two, HeaderAuthorization, e.key); r.status != 200 {
		t.Fatalf("decrypt in the next window = %d %s, want 200", r.status, r.body)
	}
	e.refused(t, "decrypt 2 with 1 left, next window", e.do("POST", pathDirectDecrypt, two, HeaderAuthorization, e.key))
	if got := e.audit.ofType(events.TypeKeyBudgetExhausted); len(got) != 2 {
		t.Errorf("%d key.budget_exhausted events after two windows, want 2", len(got))
	}
	e.audit.mu.Lock()
	defer e.audit.mu.Unlock()
	if e.audit.statuses[429] != 3 || e.audit.rateLimited[429] != 0 {
		t.Errorf("request records: %d with 429, %d of them rate_limited; want 3 and 0 (a budget is not a rate limit)",
			e.audit.statuses[429], e.audit.rateLimited[429])
	}
}

// TestBudgetProxyRequest: X-Qanapi-Mode: decrypt counts the values of the
// request phase.
func TestBudgetProxyRequest(t *testing.T) {
	e := newBudgetEnv(t)
	p := e.project("") // answered directly
	b := testBudget
	key := e.rtEnv.key(p.ID, keystore.KeyInput{DecryptBudget: &b})
	tok := e.seal(p.ID, key, `"123-45-6789"`)
	body := `{"ssn":` + tok + `,"x":` + tok + `}`
	h := []string{HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, "ssn,x"}
	if r := e.do("POST", "/proxy/"+p.ID, body, h...); r.status != 200 || !strings.Contains(string(r.body), "123-45-6789") {
		t.Fatalf("decrypt 2 of 3 = %d %s, want 200 with the values", r.status, r.body)
	}
	e.refused(t, "decrypt 2 with 1 left", e.do("POST", "/proxy/"+p.ID, body, h...))
	enc := []string{HeaderAuthorization, key, HeaderFields, "ssn"}
	if r := e.do("POST", "/proxy/"+p.ID, `{"ssn":"1"}`, enc...); r.status != 200 {
		t.Errorf("encrypt with the budget short = %d %s, want 200", r.status, r.body)
	}
}

// TestBudgetResponsePhase: a route's response decrypt counts what it
// opens, plain or masked; an answer the budget cannot cover is dropped;
// once the instance knows nothing is left, the upstream is not called.
func TestBudgetResponsePhase(t *testing.T) {
	for _, masked := range []bool{false, true} {
		t.Run("masked="+strconv.FormatBool(masked), func(t *testing.T) {
			e := newBudgetEnv(t)
			key := e.key
			if masked {
				key = e.masked
			}
			path := "/proxy/" + e.p.ID + "/records"
			r := e.do("GET", path, "", HeaderAuthorization, key)
			if r.status != 200 || strings.Contains(string(r.body), "qanapi:") {
				t.Fatalf("GET (2 of 3) = %d %s, want 200 with both values opened", r.status, r.body)
			}
			e.refused(t, "GET (2 with 1 left)", e.do("GET", path, "", HeaderAuthorization, key))
			pr, err := e.store.Authenticate([]byte(e.p.ID), []byte(key))
			if err != nil {
				t.Fatal(err)
			}
			if err := pr.Budget.Spend(e.clock.Now(), 1); err != nil { // elsewhere: the last value
				t.Fatalf("Spend(the last 1) = %v", err)
			}
			e.refused(t, "GET (2 with 0 left)", e.do("GET", path, "", HeaderAuthorization, key))
			hits := e.upstreamHits()
			e.clock.Advance(10 * time.Millisecond) // within the recheck: the refusal is known here
			e.refused(t, "GET again", e.do("GET", path, "", HeaderAuthorization, key))
			if e.upstreamHits() != hits {
				t.Errorf("upstream called for a request whose answer the budget cannot open")
			}
			e.nextWindow()
			if r := e.do("GET", path, "", HeaderAuthorization, key); r.status != 200 {
				t.Fatalf("GET in the next window = %d %s, want 200", r.status, r.body)
			}
		})
	}
}

// TestBudgetConcurrentRequests: concurrent requests that each decrypt one
// value succeed exactly as often as the budget allows.
func TestBudgetConcurrentRequests(t *testing.T) {
	e := newBudgetEnv(t)
	b := keystore.Budget{Values: 200, Per: time.Hour}
	key := e.rtEnv.key(e.p.ID, keystore.KeyInput{DecryptBudget: &b})
	one := `{"data":` + e.tok + `}`
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				r := doRequest(t, e.client, "POST", pathDirectDecrypt, one, HeaderAuthorization, key)
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[200] != 200 || codes[429] != 200 {
		t.Fatalf("answers = %v, want exactly 200 × 200 and 200 × 429", codes)
	}
}
