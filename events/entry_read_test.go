package events

import (
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writtenEntries writes a request event with a key, a failed one without
// and an admin event with characters JSON escapes, and returns their
// stored (binary) entries.
func writtenEntries(t *testing.T) (*Log, [][]byte) {
	return writtenEntriesWith(t, Options{CheckpointEvery: -1})
}

// writtenEntriesWith is writtenEntries with the log opened with opts.
func writtenEntriesWith(t *testing.T, opts Options) (*Log, [][]byte) {
	l := openLog(t, t.TempDir(), opts)
	at := time.Unix(1e9, 0)
	submit(l, "prj_a", "qk_a", 1, at)
	submitStatus(l, 401, 2, at)
	key := "qk_<b>&\u2028"
	l.Record(Event{Type: TypeKeyCreated, Time: at, ProjectID: "prj_a", KeyID: &key, Actor: "admin", Details: map[string]string{"name": "ünï \"q\""}})
	waitWritten(t, l, 3)
	var out [][]byte
	l.db.View(func(tx *bolt.Tx) error {
		for seq := uint64(1); seq <= 3; seq++ {
			out = append(out, append([]byte(nil), getEntry(tx, seq)...))
		}
		return nil
	})
	return l, out
}

// TestBinaryEntryEveryByteCounts reads real binary entries, with short
// tags as written now and with the 32-byte macs of the earlier form, and
// checks that no changed byte gets past readEntry with a mac that still
// holds at the entry's place.
func TestBinaryEntryEveryByteCounts(t *testing.T) {
	for _, long := range []bool{false, true} {
		l, entries := writtenEntriesWith(t, Options{CheckpointEvery: -1, longMACs: long})
		everyByteCounts(t, l, entries, long)
		l.Close()
	}
}

func everyByteCounts(t *testing.T, l *Log, entries [][]byte, long bool) {
	t.Helper()
	form, tagLen := byte(entryShort), tagSize
	if long {
		form, tagLen = entryBinary, macSize
	}
	for i, v := range entries {
		seq := uint64(i + 1)
		if v[0] != form || (i > 0 && int(v[1]) != tagLen) {
			t.Fatalf("evt_%d is not stored in binary with a %d-byte tag: %q", seq, tagLen, v)
		}
		en, reason := readEntry(seq, v)
		if reason != "" || !l.macOK(en) {
			t.Fatalf("evt_%d as written: %q, mac ok %v", seq, reason, l.macOK(en))
		}
		for pos := range v {
			changed := append([]byte(nil), v...)
			changed[pos] ^= 0x01
			if en, reason := readEntry(seq, changed); reason == "" && en.Seq == seq && l.macOK(en) {
				t.Errorf("evt_%d with byte %d changed reads and its mac holds", seq, pos)
			}
		}
	}
}

// TestQuickEntryAgreesWithEncodingJSON reads entries in the JSON form of
// blocks written before the binary one (request and admin events, with
// and without a key) both ways, and checks that no changed byte gets past
// the fast reader with a mac that still holds.
func TestQuickEntryAgreesWithEncodingJSON(t *testing.T) {
	l, entries := writtenEntries(t)
	defer l.Close()
	prev := []byte(nil)
	for i, bin := range entries {
		seq := uint64(i + 1)
		_, _, _, event, ok := parseBinEntry(bin)
		if !ok {
			t.Fatalf("evt_%d does not read", seq)
		}
		if isRecord(event) {
			var d decoded
			if err := decodeRecord(event, &d); err != nil {
				t.Fatal(err)
			}
			event = appendRequest(nil, "evt_"+strconv.FormatUint(seq, 10), d.inst, &d.Request)
		}
		mac := l.mac(prev, seq, event)
		v := appendEntry(nil, seq, prev, mac, event)
		prev = mac
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
