package events

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// entryMAC is the mac stored with entry seq.
func entryMAC(t *testing.T, l *Log, seq uint64) string {
	t.Helper()
	var en stored
	l.db.View(func(tx *bolt.Tx) error { en, _ = readEntry(seq, getEntry(tx, seq)); return nil })
	if en.MAC == "" {
		t.Fatalf("entry %d has no mac", seq)
	}
	return en.MAC
}

// tamper changes the file as someone without the master key can.
func tamper(t *testing.T, l *Log, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := l.db.Update(fn); err != nil {
		t.Fatalf("tampering: %v", err)
	}
}

// cutTail deletes entries from..to.
func cutTail(from, to uint64) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for seq := from; seq <= to; seq++ {
			if err := deleteEntry(tx, seq); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestVerifyFindsCutTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		head func(old []byte, mac7 string) []byte // the head the attacker writes
	}{
		{"head moved back", func(_ []byte, mac7 string) []byte {
			return []byte(fmt.Sprintf(`{"seq":7,"mac":%q}`, mac7))
		}},
		{"head moved back keeping its other members", func(old []byte, mac7 string) []byte {
			var h map[string]any
			json.Unmarshal(old, &h)
			h["seq"], h["mac"] = 7, mac7
			b, _ := json.Marshal(h)
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), Options{})
			defer l.Close()
			for i := 0; i < 10; i++ {
				submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
			}
			waitWritten(t, l, 10)
			mac7 := entryMAC(t, l, 7)
			tamper(t, l, func(tx *bolt.Tx) error {
				meta := tx.Bucket(bucketMeta)
				old := append([]byte(nil), meta.Get(metaHead)...)
				if err := cutTail(8, 10)(tx); err != nil {
					return err
				}
				return meta.Put(metaHead, tc.head(old, mac7))
			})
			if res, err := l.Verify(); err != nil || res.OK {
				t.Errorf("Verify after cutting evt_8..evt_10 and moving the head back = %+v, %v, want broken", res, err)
			}
		})
	}
}

func TestVerifyFindsWipedLog(t *testing.T) {
	deleteBucket := func(b []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.DeleteBucket(b) }
	}
	for _, tc := range []struct {
		name string
		wipe func(tx *bolt.Tx) error
	}{
		{"every entry and the head", func(tx *bolt.Tx) error {
			if err := cutTail(1, 5)(tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(metaHead)
		}},
		{"the head", func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaHead) }},
		{"the blocks bucket", deleteBucket(bucketBlocks)},
		{"the meta bucket", deleteBucket(bucketMeta)},
		{"the project_index bucket", deleteBucket(bucketProjectIdx)},
		{"every bucket", func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketBlocks, bucketMeta, bucketProjectIdx} {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), Options{})
			defer l.Close()
			for i := 0; i < 5; i++ {
				submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
			}
			waitWritten(t, l, 5)
			tamper(t, l, tc.wipe)
			if res, err := l.Verify(); err != nil || res.OK {
				t.Errorf("Verify after deleting %s = %+v, %v, want broken", tc.name, res, err)
			}
		})
	}
	t.Run("never written", func(t *testing.T) {
		l := openLog(t, t.TempDir(), Options{})
		defer l.Close()
		if res, err := l.Verify(); err != nil || !res.OK || res.Checked != 0 {
			t.Errorf("Verify of a new empty log = %+v, %v, want ok", res, err)
		}
	})
}
