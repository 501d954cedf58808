package events

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// editIndex rewrites every value of one index bucket with edit (nil
// deletes it).
func editIndex(bucket []byte, edit func(k, v []byte) []byte) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		var keys, vals [][]byte
		b.ForEach(func(k, v []byte) error {
			keys, vals = append(keys, append([]byte(nil), k...)), append(vals, append([]byte(nil), v...))
			return nil
		})
		for i, k := range keys {
			nv := edit(k, vals[i])
			var err error
			if nv == nil {
				err = b.Delete(k)
			} else {
				err = b.Put(k, nv)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// TestVerifyFindsIndexEdits: the index is not chained, but an edit that
// makes queries pass over entries still there is found by Verify, and the
// query's answer shows why it matters.
func TestVerifyFindsIndexEdits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	setHeader := func(at int, to int64) func(k, v []byte) []byte {
		return func(k, v []byte) []byte {
			binary.BigEndian.PutUint64(v[at:], uint64(to))
			return v
		}
	}
	for _, tc := range []struct {
		name   string
		bucket []byte
		edit   func(k, v []byte) []byte
	}{
		{"project values deleted", bucketProjectIdx, func(k, v []byte) []byte { return nil }},
		{"key values deleted", bucketKeyIdx, func(k, v []byte) []byte { return nil }},
		{"admin values deleted", bucketAdminIdx, func(k, v []byte) []byte { return nil }},
		{"records cut", bucketProjectIdx, func(k, v []byte) []byte { return v[:idxHeader+3] }},
		{"header's first time moved later", bucketKeyIdx, setHeader(0, now.Add(time.Hour).UnixNano())},
		{"header's upTo moved earlier", bucketProjectIdx, setHeader(16, now.Add(-time.Hour).UnixNano())},
		{"a record's time moved", bucketProjectIdx, func(k, v []byte) []byte {
			recs, _ := decodeIndex(nil, 0, v)
			out := v[:idxHeader:idxHeader]
			last := int64(0)
			for i, r := range recs {
				if i == 2 {
					r.time += int64(time.Hour)
				}
				out = binary.AppendUvarint(out, r.seq)
				out = append(out, r.code)
				out = binary.AppendVarint(out, r.time-last)
				last = r.time
			}
			return out
		}},
		{"records reordered", bucketProjectIdx, func(k, v []byte) []byte {
			recs, _ := decodeIndex(nil, 0, v)
			recs[0], recs[len(recs)-1] = recs[len(recs)-1], recs[0]
			out := v[:idxHeader:idxHeader]
			last := int64(0)
			for _, r := range recs {
				out = binary.AppendUvarint(out, r.seq)
				out = append(out, r.code)
				out = binary.AppendVarint(out, r.time-last)
				last = r.time
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1})
			defer l.Close()
			for i := 0; i < 6; i++ {
				submit(l, "prj_a", "qk_a", i, now)
			}
			l.Record(Event{Type: TypeKeyCreated, ProjectID: "prj_a", Time: now.Add(time.Second)})
			waitWritten(t, l, 7)
			if res, err := l.Verify(); err != nil || !res.OK {
				t.Fatalf("Verify before = %+v, %v, want intact", res, err)
			}
			tamper(t, l, editIndex(tc.bucket, tc.edit))
			res, err := l.Verify()
			if err != nil || res.OK || res.Broken == nil || !strings.Contains(res.Broken.Reason, "the index was changed") {
				t.Errorf("Verify after the edit = %+v (%+v), %v; want broken: the index was changed", res, res.Broken, err)
			}
		})
	}
}

// TestVerifyIndexAfterRetention: retention removes failures from inside
// blocks and whole blocks from the start, leaving index records of
// entries no longer there; the log still verifies, queries still agree.
func TestVerifyIndexAfterRetention(t *testing.T) {
	now := time.Now().Add(-time.Hour) // within MaxAge: only MaxCount prunes
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, MaxCount: 300, PruneEvery: time.Hour})
	defer l.Close()
	for i := 0; i < 1200; i++ {
		status := 200
		if i%3 == 0 {
			status = 401
		}
		submitStatusTo(l, []string{"prj_a", "prj_b"}[i%2], status, i, now.Add(time.Duration(i)*time.Millisecond))
	}
	waitWritten(t, l, 1200)
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	res, err := l.Verify()
	if err != nil || !res.OK {
		t.Fatalf("Verify after retention = %+v (%+v), %v, want intact", res, res.Broken, err)
	}
	page, _, err := l.Query(Filter{ProjectID: "prj_a", Limit: 1000})
	if err != nil || len(page) == 0 {
		t.Fatalf("Query after retention = %d events, %v", len(page), err)
	}
	for _, e := range page {
		if e.ProjectID != "prj_a" || e.Status != 200 {
			t.Errorf("Query(prj_a) listed %s of %s, status %d", e.ID, e.ProjectID, e.Status)
		}
	}
	// 300 kept, failures gone first: 150 of each project, all of them
	// successes, the newest.
	if len(page) != 150 {
		t.Errorf("Query(prj_a) after retention = %d events, want 150", len(page))
	}
}
