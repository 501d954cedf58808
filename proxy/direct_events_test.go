package proxy

import (
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestDirectEventCounts: the request event of a direct encrypt or
// decrypt counts the values it transformed and names the fields it was
// given, in the body's "fields" as in X-Qanapi-Fields, as the proxy's
// events do: a stolen key draining tokens through /api-v1/v1/decrypt must
// show in the event log, not as calls that transformed nothing.
func TestDirectEventCounts(t *testing.T) {
	sink := &indexSink{}
	e := newRTEnv(t, rtOptions{events: sink})
	p := e.project("")
	key := e.key(p.ID, keystore.KeyInput{})
	enc := e.do("POST", pathDirectEncrypt, `{"data":{"a":"1","b":["2","3"],"c":"4"},"fields":["a","b"]}`, HeaderAuthorization, key)
	if enc.status != 200 {
		t.Fatalf("encrypt = %d %s", enc.status, enc.body)
	}
	data := string(jsonField(t, enc.body, "data"))
	for _, c := range []struct {
		path, body string
		headers    []string
	}{
		{pathDirectDecrypt, `{"data":` + data + `}`, nil},
		{pathDirectDecrypt, `{"data":` + data + `,"fields":["a","b"]}`, nil},
		{pathDirectDecrypt, `{"data":` + data + `}`, []string{HeaderFields, "a,b"}},
		{pathDirectEncrypt, `{"data":"5"}`, nil},
	} {
		if r := e.do("POST", c.path, c.body, append([]string{HeaderAuthorization, key}, c.headers...)...); r.status != 200 {
			t.Fatalf("decrypt %s = %d %s", c.body, r.status, r.body)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	want := []struct {
		mode           string
		values, fields int
	}{{"encrypt", 3, 2}, {"decrypt", 3, 0}, {"decrypt", 3, 2}, {"decrypt", 3, 2}, {"encrypt", 1, 0}}
	if len(sink.recs) != len(want) {
		t.Fatalf("%d events, want %d", len(sink.recs), len(want))
	}
	for i, w := range want {
		if r := sink.recs[i]; r.Mode != w.mode || r.Status != 200 || r.RequestValues != w.values || sink.fields[i] != w.fields {
			t.Errorf("event %d = %s %d, %d values, %d fields; want %s 200, %d values, %d fields", i, r.Mode, r.Status, r.RequestValues, sink.fields[i], w.mode, w.values, w.fields)
		}
	}
}
