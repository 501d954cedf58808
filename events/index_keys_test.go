package events

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// zzLog writes n request events of prj_a (key qk_a) and an admin event,
// in one block.
func zzLog(t *testing.T, n int) *Log {
	t.Helper()
	l := openLog(t, t.TempDir(), Options{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		submit(l, "prj_a", "qk_a", i, now.Add(time.Duration(i)*time.Second))
	}
	waitWritten(t, l, uint64(n))
	kid := "qk_a"
	l.Record(Event{Type: TypeKeyRevoked, Time: now.Add(time.Hour), ProjectID: "prj_a", KeyID: &kid, Actor: "admin"})
	waitWritten(t, l, uint64(n+1))
	return l
}

// TestStrayIndexKeyHidesEvents: a key under a family's prefix that is
// not family || block id (one byte longer, say) is where no query should
// look, and Verify passes over it; but a query walking the family back
// stopped at it, listing nothing older, with no cursor and no error.
func TestStrayIndexKeyHidesEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bucket []byte
		family string
		f      Filter
	}{
		{"project", bucketProjectIdx, "prj_a\x00", Filter{ProjectID: "prj_a"}},
		{"key", bucketKeyIdx, "prj_a\x00qk_a\x00", Filter{ProjectID: "prj_a", KeyID: "qk_a"}},
		{"admin", bucketAdminIdx, "prj_a\x00", Filter{ProjectID: "prj_a", Type: "key."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := zzLog(t, 5)
			defer l.Close()
			want := len(queryAll(t, l, tc.f))
			if want == 0 {
				t.Fatal("no events to hide")
			}
			tamper(t, l, func(tx *bolt.Tx) error {
				// After every block key of the family, before the key a
				// query seeks from (family || 0xff × 8): one byte too long.
				k := append(append([]byte(tc.family), seqKey(1<<40)...), 0)
				return tx.Bucket(tc.bucket).Put(k, make([]byte, idxHeader))
			})
			res, err := l.Verify()
			got := queryAll(t, l, tc.f)
			if len(got) != want && err == nil && res.OK {
				t.Fatalf("after a stray index key, Query lists %d of %d events and Verify = %+v", len(got), want, res)
			}
		})
	}
}

// TestUnreadableIndexValueFailsQueries: a value under a family's block
// key that does not read (too short for its header, or records cut) where
// the family has no entries made every query of the family fail while
// Verify passed.
func TestUnreadableIndexValueFailsQueries(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []byte
	}{
		{"short", []byte("x")},
		{"records cut", append(make([]byte, idxHeader), 0x80)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := zzLog(t, 5)
			defer l.Close()
			tamper(t, l, func(tx *bolt.Tx) error {
				v := append([]byte(nil), tc.v...)
				if len(v) >= idxHeader {
					for i := 16; i < 24; i++ { // upTo: as late as can be
						v[i] = 0x7f
					}
				}
				return tx.Bucket(bucketProjectIdx).Put(append([]byte("prj_a\x00"), seqKey(1<<40)...), v)
			})
			res, err := l.Verify()
			_, _, qerr := l.Query(Filter{ProjectID: "prj_a"})
			if qerr != nil && err == nil && res.OK {
				t.Fatalf("Query = %v while Verify = %+v", qerr, res)
			}
		})
	}
}
