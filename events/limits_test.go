package events

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRequestCapsStoredLengths(t *testing.T) {
	longName := strings.Repeat("n", 300)
	many := make([]string, 100)
	for i := range many {
		many[i] = longName
	}
	for _, tc := range []struct {
		name, path, fields string
		wantPath           func(string) bool
		wantFields         int
	}{
		{"short", "/proxy/prj_a/x", "a, b", func(p string) bool { return p == "/proxy/prj_a/x" }, 2},
		{"long ASCII path", "/" + strings.Repeat("a", 5000), "a", func(p string) bool {
			return len(p) <= MaxPathBytes && strings.HasSuffix(p, CutMarker) && len(p) > MaxPathBytes-8
		}, 1},
		{"long path of 2-byte characters", "/" + strings.Repeat("é", 3000), "a", func(p string) bool {
			return len(p) <= MaxPathBytes && strings.HasSuffix(p, CutMarker) && utf8.ValidString(p)
		}, 1},
		{"path exactly at the bound", strings.Repeat("p", MaxPathBytes), "a", func(p string) bool { return len(p) == MaxPathBytes && !strings.Contains(p, CutMarker) }, 1},
		{"100 long field names", "/p", strings.Join(many, ","), func(string) bool { return true }, MaxFieldNames},
		{"exactly 64 field names", "/p", strings.Repeat("f,", 64), func(string) bool { return true }, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{Time: time.Unix(1e9, 0), ProjectID: "prj_a", Status: 200}
			r.SetPath([]byte(tc.path))
			r.SetFields([]byte(tc.fields))
			var e Event
			b := appendRequest(nil, "evt_1", "", r)
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("appendRequest = %s, not JSON: %v", b, err)
			}
			if !tc.wantPath(e.Path) {
				t.Errorf("stored path = %d bytes ending %q, want at most %d, cut with %q when longer", len(e.Path), e.Path[max(0, len(e.Path)-12):], MaxPathBytes, CutMarker)
			}
			if len(e.Fields) != tc.wantFields {
				t.Errorf("stored %d field names, want %d", len(e.Fields), tc.wantFields)
			}
			for _, f := range e.Fields {
				if len(f) > MaxFieldNameBytes {
					t.Errorf("stored field name of %d bytes, want at most %d", len(f), MaxFieldNameBytes)
					break
				}
			}
			if n := strings.Count(tc.fields, ",") + 1; n > MaxFieldNames+1 && e.Fields[len(e.Fields)-1] != CutMarker {
				t.Errorf("last of %d stored names = %.20q, want %q for a cut list", len(e.Fields), e.Fields[len(e.Fields)-1], CutMarker)
			}
		})
	}
}

func TestRequestFieldCountCountsAllNames(t *testing.T) {
	r := &Request{}
	r.SetFields(bytes.Repeat([]byte("f, "), 100))
	if got := r.FieldCount(); got != 100 {
		t.Errorf("FieldCount() of 100 names = %d, want 100", got)
	}
}

func TestRequestCapsAllocs(t *testing.T) {
	path := []byte("/" + strings.Repeat("é", 3000))
	fields := bytes.Repeat([]byte(strings.Repeat("n", 300)+","), 100)
	r := &Request{Time: time.Now(), ProjectID: "prj_a", KeyID: "qk_a", Mode: "encrypt", Status: 200}
	r.SetPath(path)
	r.SetFields(fields)
	buf := appendRequest(nil, "evt_1", "", r)
	if n := testing.AllocsPerRun(100, func() {
		r.SetPath(path)
		r.SetFields(fields)
		buf = appendRequest(buf[:0], "evt_1", "", r)
	}); n != 0 {
		t.Errorf("SetPath, SetFields and appendRequest of long values allocs = %v, want 0", n)
	}
}
