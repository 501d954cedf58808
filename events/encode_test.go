package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAppendEventDecodesLikeEncodingJSON(t *testing.T) {
	k, c, rl := "qk_abc", "pii", true
	weird := "quote\" back\\ ctl\x01 tab\t uni é 🙂 bad\xff <html>&"
	cases := []Event{
		{ID: "evt_1", Type: TypeRequest, Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), ProjectID: "prj_a", KeyID: &k,
			Method: "POST", Path: "/proxy/prj_a/" + weird, Mode: "encrypt", Fields: []string{"a.b", weird}, Classification: &c,
			Status: 201, LatencyMS: 0.123, UpstreamMS: 0.1, RequestID: "req_1", ClientIP: "::1", RateLimited: &rl},
		{ID: "evt_2", Type: TypeKeyRotated, Time: time.Unix(0, 0).UTC(), ProjectID: "prj_a", Actor: "admin",
			Details: map[string]string{"z": "1", "a": weird}},
	}
	for _, e := range cases {
		var got, want Event
		if err := json.Unmarshal(appendEvent(nil, &e), &got); err != nil {
			t.Fatalf("appendEvent(%s) is not JSON: %v: %s", e.ID, err, appendEvent(nil, &e))
		}
		std, _ := json.Marshal(e)
		json.Unmarshal(std, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("appendEvent(%s) decodes to %+v, want %+v", e.ID, got, want)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	k, rl := "qk_abcdefghijkl", false
	e := Event{ID: "evt_123456", Type: TypeRequest, Time: time.Now().UTC(), ProjectID: "prj_abcdefghijkl", KeyID: &k,
		Method: "POST", Path: "/proxy/prj_abcdefghijkl/posts", Mode: "encrypt", Fields: []string{"title", "body"},
		Status: 200, LatencyMS: 0.42, UpstreamMS: 0.31, RequestID: "req_0a1b2c3d-42", ClientIP: "127.0.0.1", RateLimited: &rl}
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendEvent(buf[:0], &e)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(e)
		}
	})
}
