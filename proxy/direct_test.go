package proxy

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/keystore"
)

var tokenRE = regexp.MustCompile(`qanapi:[A-Za-z0-9_-]+:v[0-9]+:[A-Za-z0-9_-]+:\$`)

func TestDirectRoundTrip(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	cases := []struct {
		name, body, wantData string
		sealedWhole          bool
	}{
		{"string", `{"data":"Your sensitive data"}`, `"Your sensitive data"`, true},
		{"number", `{"data":12.50}`, `12.50`, true},
		{"null", `{"data":null}`, `null`, true},
		{"object without fields", `{"data":{"a":1}}`, `{"a":1}`, true},
		{"object with fields", `{"data":{"a":{"b":[1,"x"]},"c":"y","d":2},"fields":["a.b","c"]}`, `{"a":{"b":[1,"x"]},"c":"y","d":2}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc := e.do("POST", pathDirectEncrypt, tc.body, HeaderAuthorization, key)
			if enc.status != 200 {
				t.Fatalf("encrypt %s = %d %s, want 200", tc.body, enc.status, enc.body)
			}
			data := jsonField(t, enc.body, "data")
			if tc.sealedWhole && !tokenRE.Match(data) {
				t.Errorf("encrypt %s data = %s, want one token", tc.body, data)
			}
			if !tc.sealedWhole && (!bytes.Contains(data, []byte(`"d":2`)) || bytes.Contains(data, []byte(`"y"`))) {
				t.Errorf("encrypt %s data = %s, want c sealed and d untouched", tc.body, data)
			}
			dec := e.do("POST", pathDirectDecrypt, `{"data":`+string(data)+`}`, HeaderAuthorization, key)
			if got := jsonField(t, dec.body, "data"); dec.status != 200 || string(got) != tc.wantData {
				t.Errorf("decrypt = %d %s, want data %s", dec.status, dec.body, tc.wantData)
			}
		})
	}
}

func TestDirectFieldsFromHeader(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	enc := e.do("POST", pathDirectEncrypt, `{"data":{"ssn":"123","name":"Ann"}}`, HeaderAuthorization, key, HeaderFields, " ssn ")
	data := jsonField(t, enc.body, "data")
	if bytes.Contains(data, []byte("123")) || !bytes.Contains(data, []byte(`"name":"Ann"`)) {
		t.Fatalf("encrypt with X-Qanapi-Fields: ssn = %s, want ssn sealed, name untouched", data)
	}
	dec := e.do("POST", pathDirectDecrypt, `{"data":`+string(data)+`}`, HeaderAuthorization, key)
	if got := jsonField(t, dec.body, "data"); string(got) != `{"ssn":"123","name":"Ann"}` {
		t.Errorf("decrypt without fields = %s, want every token opened", got)
	}
	// With "fields" in the body too, the header adds to them (it never
	// goes unheard: a caller naming a field there gets it sealed).
	enc = e.do("POST", pathDirectEncrypt, `{"data":{"ssn":"123","name":"Ann","a,b":"x"},"fields":["name"]}`, HeaderAuthorization, key, HeaderFields, `ssn, a\,b`)
	if data = jsonField(t, enc.body, "data"); enc.status != 200 || bytes.Contains(data, []byte("123")) || bytes.Contains(data, []byte("Ann")) ||
		bytes.Contains(data, []byte(`"x"`)) {
		t.Errorf("encrypt with fields [name] and X-Qanapi-Fields: ssn and a\\,b = %d %s, want all three sealed", enc.status, enc.body)
	}
}

func TestDirectErrors(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	other := e.project(keystore.ProjectInput{})
	mustClass(t, e.store, p.ID, "pii")
	key := e.key(p.ID, keystore.KeyInput{})
	encOnly := e.key(p.ID, keystore.KeyInput{Permissions: []string{"encrypt"}})
	piiOnly := e.key(p.ID, keystore.KeyInput{Classifications: []string{"pii"}})
	otherKey := e.key(other.ID, keystore.KeyInput{})
	tok := func(k string, extra ...string) string {
		r := e.do("POST", pathDirectEncrypt, `{"data":"s3cret"}`, append([]string{HeaderAuthorization, k}, extra...)...)
		return string(jsonField(t, r.body, "data"))
	}
	plain, pii, foreign := tok(key), tok(key, HeaderClassification, "pii"), tok(otherKey)
	tampered := []byte(plain)
	swapChar(tampered, len(tampered)-8)
	deep := `{"data":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	cases := []struct {
		name, path, body string
		headers          []string
		status           int
		code             string
	}{
		{"no key", pathDirectEncrypt, `{"data":1}`, nil, 401, "unauthorized"},
		{"invalid json", pathDirectEncrypt, `{"data":`, []string{HeaderAuthorization, key}, 400, "invalid_json"},
		{"too deep", pathDirectEncrypt, deep, []string{HeaderAuthorization, key}, 400, "invalid_json"},
		{"duplicate key", pathDirectEncrypt, `{"data":1,"data":2}`, []string{HeaderAuthorization, key}, 400, "invalid_json"},
		{"no data", pathDirectEncrypt, `{"x":1}`, []string{HeaderAuthorization, key}, 400, "invalid_request"},
		{"bad fields", pathDirectEncrypt, `{"data":{"a":1},"fields":"a"}`, []string{HeaderAuthorization, key}, 400, "invalid_fields"},
		{"bad classification", pathDirectEncrypt, `{"data":1}`, []string{HeaderAuthorization, key, HeaderClassification, "Not A Slug"}, 400, "invalid_classification"},
		{"compressed", pathDirectEncrypt, `{"data":1}`, []string{HeaderAuthorization, key, "Content-Encoding", "gzip"}, 415, "unsupported_content_encoding"},
		{"encrypt-only key decrypts", pathDirectDecrypt, `{"data":` + plain + `}`, []string{HeaderAuthorization, encOnly}, 403, "permission_denied"},
		{"pii key encrypts unclassified", pathDirectEncrypt, `{"data":1}`, []string{HeaderAuthorization, piiOnly}, 403, "permission_denied"},
		{"pii key decrypts unclassified token", pathDirectDecrypt, `{"data":` + plain + `}`, []string{HeaderAuthorization, piiOnly}, 403, "permission_denied"},
		{"classification mismatch", pathDirectDecrypt, `{"data":` + pii + `}`, []string{HeaderAuthorization, key, HeaderClassification, "phi"}, 403, "classification_mismatch"},
		{"not a token", pathDirectDecrypt, `{"data":"hello"}`, []string{HeaderAuthorization, key}, 422, "not_a_token"},
		{"tampered", pathDirectDecrypt, `{"data":` + string(tampered) + `}`, []string{HeaderAuthorization, key}, 422, "decrypt_failed"},
		{"other project's token", pathDirectDecrypt, `{"data":` + foreign + `}`, []string{HeaderAuthorization, key}, 422, "decrypt_failed"},
		{"duplicate header", pathDirectEncrypt, `{"data":1}`, []string{HeaderAuthorization, key, HeaderMode, "encrypt", "x-qanapi-mode", "decrypt"}, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, tc.body, tc.headers...)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("POST %s = %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.code)
			}
			var eb struct {
				Error struct {
					Code      string
					RequestID string `json:"request_id"`
				}
			}
			if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Code != tc.code || eb.Error.RequestID != r.header[HeaderRequestID] {
				t.Errorf("error body = %s, want code %s and the request id %s", r.body, tc.code, r.header[HeaderRequestID])
			}
			if bytes.Contains(r.body, []byte("s3cret")) {
				t.Errorf("error body %s contains a field value", r.body)
			}
		})
	}
	pr := e.do("POST", pathDirectDecrypt, `{"data":`+pii+`}`, HeaderAuthorization, piiOnly)
	if got := jsonField(t, pr.body, "data"); pr.status != 200 || string(got) != `"s3cret"` {
		t.Errorf("pii key decrypts pii token = %d %s, want 200 s3cret", pr.status, pr.body)
	}
}

func TestDirectUnauthorizedIdentical(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	revoked := e.key(p.ID, keystore.KeyInput{})
	id := revoked[:strings.LastIndexByte(revoked, '_')]
	if _, err := e.store.RevokeKey(p.ID, id); err != nil {
		t.Fatal(err)
	}
	flipped := []byte(key)
	swapChar(flipped, len(flipped)-10)
	var bodies []string
	for _, k := range []string{"", "garbage", string(flipped), revoked} {
		r := e.do("POST", pathDirectEncrypt, `{"data":1}`, HeaderAuthorization, k)
		if r.status != 401 {
			t.Fatalf("key %q: status %d, want 401", k, r.status)
		}
		bodies = append(bodies, strings.Replace(string(r.body), r.header[HeaderRequestID], "ID", 1))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("401 bodies differ: %q vs %q", b, bodies[0])
		}
	}
}

func TestDirectRateLimit(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{RateLimit: &keystore.RateLimit{RequestsPerSecond: 0.5, Burst: 2}})
	key := e.key(p.ID, keystore.KeyInput{})
	send := func() response { return e.do("POST", pathDirectEncrypt, `{"data":1}`, HeaderAuthorization, key) }
	for i, wantRemaining := range []string{"1", "0"} {
		r := send()
		if r.status != 200 || r.header["Ratelimit-Limit"] != "2" || r.header["Ratelimit-Remaining"] != wantRemaining {
			t.Fatalf("request %d = %d limit %q remaining %q, want 200 2 %s", i, r.status, r.header["Ratelimit-Limit"], r.header["Ratelimit-Remaining"], wantRemaining)
		}
	}
	r := send()
	if r.status != 429 || r.code() != "rate_limited" || r.header["Retry-After"] != "2" {
		t.Fatalf("third request = %d %s Retry-After %q, want 429 rate_limited 2", r.status, r.code(), r.header["Retry-After"])
	}
	e.clock.Advance(2 * time.Second)
	if r := send(); r.status != 200 {
		t.Errorf("after 2s = %d, want 200", r.status)
	}
	// A change of the project's limit applies without a restart.
	rl := keystore.RateLimit{RequestsPerSecond: 100, Burst: 50}
	if _, err := e.store.UpdateProject(p.ID, keystore.ProjectInput{RateLimit: &rl}); err != nil {
		t.Fatal(err)
	}
	send()                       // the bucket takes the new limit from the next request on
	e.clock.Advance(time.Second) // and refills at the new rate, up to the new burst
	if r := send(); r.status != 200 || r.header["Ratelimit-Limit"] != "50" || r.header["Ratelimit-Remaining"] != "49" {
		t.Errorf("after raising the limit = %d limit %q remaining %q, want 200 50 49", r.status, r.header["Ratelimit-Limit"], r.header["Ratelimit-Remaining"])
	}
}

// swapChar replaces b[i] with another character of the base64url and
// base62 alphabets, so the text keeps its shape but not its content.
func swapChar(b []byte, i int) {
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
}

// TestDirectRefusesProxyHeaders: the direct API refuses the proxy's
// headers it has no use for instead of ignoring what the caller meant: an
// X-Qanapi-Mode that contradicts the path (one that agrees, as headers
// copied from a proxy call carry, is accepted), X-Qanapi-Destination and
// the response phase's headers. Each refusal names the header, after
// authentication, and transforms nothing.
func TestDirectRefusesProxyHeaders(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	enc := e.do("POST", pathDirectEncrypt, `{"data":"x"}`, HeaderAuthorization, key, HeaderMode, "Encrypt")
	if enc.status != 200 {
		t.Fatalf("encrypt with X-Qanapi-Mode: Encrypt = %d %s, want 200", enc.status, enc.body)
	}
	token := string(jsonField(t, enc.body, "data"))
	if dec := e.do("POST", pathDirectDecrypt, `{"data":`+token+`}`, HeaderAuthorization, key, HeaderMode, "decrypt"); dec.status != 200 {
		t.Fatalf("decrypt with X-Qanapi-Mode: decrypt = %d %s, want 200", dec.status, dec.body)
	}
	for _, tc := range []struct {
		path, body, header, value, code string
	}{
		{pathDirectEncrypt, `{"data":"x"}`, HeaderMode, "decrypt", "invalid_mode"},
		{pathDirectEncrypt, `{"data":"x"}`, HeaderMode, "bogus", "invalid_mode"},
		{pathDirectDecrypt, `{"data":` + token + `}`, HeaderMode, "encrypt", "invalid_mode"},
		{pathDirectIndex, `{"field":"email","data":"a@b.c"}`, HeaderMode, "decrypt", "invalid_mode"},
		{pathDirectEncrypt, `{"data":"x"}`, HeaderDestination, "https://api.example.com", "invalid_request"},
		{pathDirectDecrypt, `{"data":` + token + `}`, HeaderResponseFields, "data", "invalid_request"},
		{pathDirectEncrypt, `{"data":"x"}`, HeaderResponseMode, "encrypt", "invalid_request"},
	} {
		r := e.do("POST", tc.path, tc.body, HeaderAuthorization, key, tc.header, tc.value)
		if r.status != 400 || !bytes.Contains(r.body, []byte(`"code":"`+tc.code+`"`)) || !bytes.Contains(r.body, []byte(tc.header)) {
			t.Errorf("POST %s with %s: %s = %d %s, want 400 %s naming the header", tc.path, tc.header, tc.value, r.status, r.body, tc.code)
		}
		if bytes.Contains(r.body, []byte("qanapi:")) || bytes.Contains(r.body, []byte(`"data"`)) {
			t.Errorf("POST %s with %s refused, yet its answer holds data: %s", tc.path, tc.header, r.body)
		}
	}
	// Before authentication the same request is an indistinguishable 401.
	if r := e.do("POST", pathDirectEncrypt, `{"data":"x"}`, HeaderAuthorization, "qk_nope_x", HeaderDestination, "https://api.example.com"); r.status != 401 {
		t.Errorf("bad key with X-Qanapi-Destination = %d %s, want 401", r.status, r.body)
	}
}
