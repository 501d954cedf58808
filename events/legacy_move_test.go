package events

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestEntryMovedToLegacyBucket: someone without the key moves an entry
// out of its block into an events bucket of the layout before blocks
// (creating it and by_project). Verify walked it there as a legacy entry
// (whose index it does not check) and passed, while no query lists it:
// queries read blocks only. A binary entry holding a '\n' byte stays
// there for good, as migrate stops at it, so the entry stayed hidden
// from the admin API after serve reopened the log too.
func TestEntryMovedToLegacyBucket(t *testing.T) {
	dir := t.TempDir()
	l := zzLogIn(t, dir, 40)
	// An entry in the middle whose bytes hold a '\n' (the writer's
	// tags are deterministic under the test key).
	var seq uint64
	var line []byte
	l.db.View(func(tx *bolt.Tx) error {
		for s := uint64(5); s < 35; s++ {
			if e := getEntry(tx, s); bytes.IndexByte(e, '\n') >= 0 {
				seq, line = s, append([]byte(nil), e...)
				return nil
			}
		}
		return nil
	})
	if seq == 0 {
		t.Fatal("no entry with a newline byte")
	}
	tamper(t, l, func(tx *bolt.Tx) error {
		if err := deleteEntry(tx, seq); err != nil {
			return err
		}
		ev, err := tx.CreateBucket(bucketEvents)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketByProject); err != nil {
			return err
		}
		return ev.Put(seqKey(seq), line)
	})
	check := func(when string) {
		t.Helper()
		res, err := l.Verify()
		listed := slices.Contains(ids(queryAll(t, l, Filter{ProjectID: "prj_a"})), fmt.Sprintf("evt_%d", seq))
		if err == nil && res.OK && !listed {
			t.Errorf("%s: evt_%d moved to the legacy bucket: Verify = %+v, and queries do not list it", when, seq, res)
		}
	}
	check("before reopening")
	l.Close()
	l = openLog(t, dir, Options{}) // as serve: migrate, then the writer
	defer l.Close()
	check("after reopening")
}

func zzLogIn(t *testing.T, dir string, n int) *Log {
	t.Helper()
	l := openLog(t, dir, Options{})
	for i := 0; i < n; i++ {
		submit(l, "prj_a", "qk_a", i, zzTime(i))
	}
	waitWritten(t, l, uint64(n))
	return l
}

func zzTime(i int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
}
