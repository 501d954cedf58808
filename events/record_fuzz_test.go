package events

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"testing"
	"time"
)

// FuzzReadEntry feeds readEntry what a file's bytes may hold where a
// binary entry belongs. It must not panic; an entry it reads must give
// back its parts (a block of it holds it whole, one entry), a request
// record it reads must render the JSON that the same request, recorded
// again, renders, and a compact one must be what recording it again
// writes (it has one spelling).
func FuzzReadEntry(f *testing.F) {
	k, _ := deriveKeys(testKey)
	l := &Log{keys: k}
	r := &Request{Time: time.Date(2026, 12, 1, 12, 0, 0, 5, time.UTC), ProjectID: "prj_a", KeyID: "qk_a", Status: 201,
		Latency: 1500 * time.Microsecond, RateLimited: true}
	r.SetFields([]byte("title, body"))
	r.SetPath([]byte("/proxy/prj_a/é"))
	prev := make([]byte, macSize)
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 7, prev, appendRecord(nil, "inst_a", r), false))
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 7, prev, appendRecord(nil, "inst_a", r), true))
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 9, prev[:tagSize], appendRecord(nil, "inst_a", r), false))
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 9, prev[:tagSize], appendFullRecord(nil, "inst_a", r), false))
	r2 := *r
	r2.SetMethod([]byte("POST"))
	r2.Mode = "encrypt"
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 9, prev[:tagSize], appendRecord(nil, "inst_a", &r2), false))
	f.Add(appendBinEntry(l.wmacOrNew(), nil, 8, nil, []byte(`{"id":"evt_8","type":"key.created","time":"2026-12-01T12:00:00Z","project_id":"prj_a","key_id":null}`), false))
	f.Add([]byte{entryBinary, 32})
	f.Add([]byte{entryShort, 16})
	f.Fuzz(func(t *testing.T, v []byte) {
		seq, _, _, event, ok := parseBinEntry(v)
		en, reason := readEntry(seq, v)
		if reason != "" {
			return
		}
		if !ok || en.Seq != seq || !bytes.Equal(en.Event, event) {
			t.Fatalf("readEntry read %q as seq %d, event %q; parseBinEntry: %v, %d", v, en.Seq, en.Event, ok, seq)
		}
		n := 0
		forEachLine(appendBlockLine(nil, v, true), func(s uint64, line []byte) bool {
			n++
			if s != seq || !bytes.Equal(line, v) {
				t.Fatalf("block of one entry gives seq %d, %q", s, line)
			}
			return true
		})
		if n != 1 {
			t.Fatalf("block of one entry gives %d", n)
		}
		if !isRecord(event) {
			return
		}
		var d, again decoded
		if err := decodeRecord(event, &d); err != nil {
			t.Fatalf("readEntry read a record that does not decode: %v", err)
		}
		if event[0] == recCompact && !bytes.Equal(appendRecord(nil, d.inst, &d.Request), event) {
			t.Fatalf("compact record %q reads, but is recorded again as %q: two spellings", event, appendRecord(nil, d.inst, &d.Request))
		}
		if err := decodeRecord(appendRecord(nil, d.inst, &d.Request), &again); err != nil {
			t.Fatalf("a decoded record, recorded again, does not decode: %v", err)
		}
		if a, b := appendRequest(nil, "evt_1", d.inst, &d.Request), appendRequest(nil, "evt_1", again.inst, &again.Request); !bytes.Equal(a, b) {
			t.Fatalf("record renders %s, recorded again %s", a, b)
		}
	})
}

// wmacOrNew is the chain's keyed HMAC for a Log built by hand.
func (l *Log) wmacOrNew() hash.Hash { return hmac.New(sha256.New, l.keys.chain) }
