package events

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestQuickEntryAgreesWithEncodingJSON reads real entries (request and
// admin events, with and without a key) both ways, and checks that no
// changed byte gets past the fast reader with a mac that still holds.
func TestQuickEntryAgreesWithEncodingJSON(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1})
	defer l.Close()
	at := time.Unix(1e9, 0)
	submit(l, "prj_a", "qk_a", 1, at)
	submitStatus(l, 401, 2, at)
	key := "qk_<b>&\u2028"
	l.Record(Event{Type: TypeKeyCreated, Time: at, ProjectID: "prj_a", KeyID: &key, Actor: "admin", Details: map[string]string{"name": "ünï \"q\""}})
	waitWritten(t, l, 3)
	for seq := uint64(1); seq <= 3; seq++ {
		var v []byte
		l.db.View(func(tx *bolt.Tx) error { v = append([]byte(nil), getEntry(tx, seq)...); return nil })
		var quick stored
		if !quickEntry(seq, v, &quick) {
			t.Fatalf("quickEntry(evt_%d) = false for an entry as written: %s", seq, v)
		}
		slow := stored{}
		if err := jsonEntry(v, &slow); err != nil {
			t.Fatal(err)
		}
		slow.id = quick.id
		if quick.Seq != slow.Seq || quick.Prev != slow.Prev || quick.MAC != slow.MAC || string(quick.Event) != string(slow.Event) || quick.ev != slow.ev {
			t.Errorf("evt_%d: quick %+v, encoding/json %+v", seq, quick, slow)
		}
		if !l.macOK(quick) {
			t.Errorf("evt_%d: mac does not hold", seq)
		}
		for pos := range v {
			changed := append([]byte(nil), v...)
			changed[pos] ^= 0x01
			var en stored
			if quickEntry(seq, changed, &en) && l.macOK(en) {
				t.Errorf("evt_%d with byte %d changed passes the fast reader and its mac: %s", seq, pos, changed)
			}
		}
	}
}
