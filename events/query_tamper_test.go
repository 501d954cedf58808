package events

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestQueryListsChangedEvent: an entry whose content was changed
// (HMAC mismatch: Verify names it) was listed by Query as if intact,
// its changed values shown to whoever reads the admin API or console.
// A query now checks the mac of each entry it returns (the entry holds
// its link, so one HMAC each) and fails naming it.
func TestQueryListsChangedEvent(t *testing.T) {
	for _, long := range []bool{false, true} {
		l := openLog(t, t.TempDir(), Options{longMACs: long})
		for i := 0; i < 5; i++ {
			submit(l, "prj_a", "qk_a", i, zzTime(i))
		}
		waitWritten(t, l, 5)
		kid := "qk_a"
		l.Record(Event{Type: TypeKeyRevoked, Time: zzTime(9), ProjectID: "prj_a", KeyID: &kid, Actor: "admin"})
		waitWritten(t, l, 6)
		tamper(t, l, func(tx *bolt.Tx) error {
			if err := replaceInEntry(tx, 3, "req_2", "req_7"); err != nil {
				return err
			}
			return replaceInEntry(tx, 6, `"actor":"admin"`, `"actor":"other"`)
		})
		if res, _ := l.Verify(); res.OK {
			t.Fatalf("Verify = %+v, want broken", res)
		}
		for _, f := range []Filter{{ProjectID: "prj_a"}, {ProjectID: "prj_a", Type: "key."}} {
			page, _, err := l.Query(f)
			if !errors.Is(err, ErrChanged) {
				for _, e := range page {
					if e.RequestID == "req_7" || e.Actor == "other" {
						t.Errorf("long %v: Query(%+v) lists the changed %s (%v) without an error", long, f, e.ID, err)
					}
				}
			}
		}
		// A page that holds no changed entry still reads.
		if page, _, err := l.Query(Filter{ProjectID: "prj_a", Cursor: "c3"}); err != nil || len(page) != 2 {
			t.Errorf("Query(before the changed entries) = %d events, %v; want 2", len(page), err)
		}
		l.Close()
	}
}

// TestQueryListsChangedJSONLine: the same for an entry of a block of
// JSON lines (a log written before binary blocks).
func TestQueryListsChangedJSONLine(t *testing.T) {
	dir := t.TempDir()
	writeSignedLegacyLog(t, dir, []int{200, 200, 200, 200})
	l := openLog(t, dir, Options{}) // moves them into blocks of JSON lines
	defer l.Close()
	tamper(t, l, func(tx *bolt.Tx) error { return replaceInEntry(tx, 2, `"status":200`, `"status":500`) })
	if res, _ := l.Verify(); res.OK {
		t.Fatalf("Verify = %+v, want broken", res)
	}
	page, _, err := l.Query(Filter{ProjectID: "prj_a"})
	if !errors.Is(err, ErrChanged) {
		for _, e := range page {
			if e.Status == 500 {
				t.Errorf("Query lists the changed %s without an error (%v)", e.ID, err)
			}
		}
	}
}
