package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeLegacyLog writes a log as an sdproxy from before signed heads did:
// entry 1 linked to "", an unsigned head, no pruned or failures bucket.
// statuses gives each entry's status; none writes buckets but no entry
// and no head (a log opened but never written).
func writeLegacyLog(t *testing.T, dir string, statuses ...int) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, _ := deriveKeys(testKey)
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketByProject, bucketMeta} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		var prev []byte
		for i, status := range statuses {
			seq := uint64(i + 1)
			id := fmt.Sprintf("evt_%d", seq)
			ev := appendEvent(nil, &Event{ID: id, Type: TypeRequest, Time: time.Unix(1e9, 0).UTC(), ProjectID: "prj_a", Status: status})
			mac := chainMAC(hmac.New(sha256.New, k.chain), prev, seq, ev, nil)
			rec := appendEntry(nil, seq, prev, mac, ev)
			tx.Bucket(bucketEvents).Put(seqKey(seq), rec)
			tx.Bucket(bucketByProject).Put(projectKey("prj_a", seq), nil)
			prev = mac
		}
		if len(statuses) == 0 {
			return nil
		}
		return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":%d,"mac":%q}`, len(statuses), hex.EncodeToString(prev)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func openReadOnly(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := Open(dir, Options{MasterKey: testKey, ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only) = %v", err)
	}
	return l
}

func TestOpenUpgradesLegacyLog(t *testing.T) {
	dir := t.TempDir()
	writeLegacyLog(t, dir, 200, 401, 200, 401, 200, 200)
	ro := openReadOnly(t, dir)
	res, err := ro.Verify()
	ro.Close()
	if err != nil || !res.OK || !res.HeadUnsigned || res.Checked != 6 {
		t.Fatalf("Verify(legacy log) = %+v, %v, want ok over 6 with an unsigned head", res, err)
	}

	l := openLog(t, dir, Options{CheckpointEvery: -1})
	res, err = l.Verify()
	if err != nil || !res.OK || res.HeadUnsigned || res.Checked != 7 {
		t.Fatalf("Verify after Open upgraded = %+v, %v, want ok over 7, head signed", res, err)
	}
	page, _, _ := l.Query(Filter{ProjectID: ""})
	if len(page) != 1 || page[0].Type != TypeLogUpgraded || page[0].ID != "evt_7" || page[0].Details["head"] != "unsigned" {
		t.Errorf("Query(project \"\") = %+v, want evt_7 %s", page, TypeLogUpgraded)
	}
	var h head
	l.db.View(func(tx *bolt.Tx) (err error) { h, err = l.loadHead(tx.Bucket(bucketMeta)); return err })
	if h.Seq != 7 || h.Live != 7 || h.Failures != 2 {
		t.Errorf("head after upgrade = %+v, want seq 7, 7 entries, 2 failures", h)
	}

	for i := 0; i < 3; i++ {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	waitWritten(t, l, 3)
	cp, err := l.Checkpoint()
	if err != nil || cp.Seq != 10 {
		t.Fatalf("Checkpoint() = %+v, %v, want seq 10", cp, err)
	}
	// Cut the tail and put back an unsigned head, as an old sdproxy
	// wrote: after the upgrade entry that is found...
	tamper(t, l, func(tx *bolt.Tx) error {
		if err := cutTail(9, 10)(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":8,"mac":%q}`, entryMACIn(tx, 8)))
	})
	if res, _ := l.Verify(); res.OK {
		t.Errorf("Verify of an upgraded log cut after its %s entry, with an unsigned head = ok, want broken", TypeLogUpgraded)
	}
	// ...cut back before it, the log looks as if never upgraded: Verify
	// alone says so only by HeadUnsigned; a checkpoint finds the cut.
	tamper(t, l, func(tx *bolt.Tx) error {
		if err := cutTail(5, 8)(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":4,"mac":%q}`, entryMACIn(tx, 4)))
	})
	if res, _ := l.Verify(); !res.HeadUnsigned {
		t.Errorf("Verify of a log cut back to before its upgrade = %+v, want HeadUnsigned", res)
	}
	if res, _ := l.VerifyWith(VerifyOptions{Checkpoint: &cp}); res.OK {
		t.Errorf("VerifyWith(a checkpoint at evt_10) of a log cut back to evt_4 = ok, want broken")
	}
	l.Close()
	ro = openReadOnly(t, dir)
	if _, err := ro.Checkpoint(); err == nil {
		t.Errorf("Checkpoint() of a log with an unsigned head = nil error, want one")
	}
	ro.Close()
}

func entryMACIn(tx *bolt.Tx, seq uint64) string {
	en, _ := readEntry(seq, getEntry(tx, seq))
	return en.MAC
}

func TestOpenStartsLegacyEmptyLog(t *testing.T) {
	dir := t.TempDir()
	writeLegacyLog(t, dir)
	ro := openReadOnly(t, dir)
	res, _ := ro.Verify()
	ro.Close()
	if res.OK {
		t.Errorf("Verify(buckets without a head) = ok, want broken (wiped, or never written by an old sdproxy)")
	}
	l := openLog(t, dir, Options{})
	defer l.Close()
	if res, _ := l.Verify(); !res.OK || res.Checked != 1 {
		t.Errorf("Verify after Open = %+v, want ok over its %s entry", res, TypeLogUpgraded)
	}
}

func TestOpenRefusesDamagedLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		legacy bool
		damage func(tx *bolt.Tx) error
	}{
		{"head missing", false, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaHead) }},
		{"head moved back", false, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":2,"mac":%q,"live":2,"sig":"00"}`, entryMACIn(tx, 2)))
		}},
		{"head unsigned on a signed log", false, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":2,"mac":%q}`, entryMACIn(tx, 2)))
		}},
		{"blocks bucket missing", false, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketBlocks) }},
		{"meta bucket missing", false, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMeta) }},
		{"legacy head not at the last entry", true, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaHead, fmt.Appendf(nil, `{"seq":2,"mac":%q}`, entryMACIn(tx, 2)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.legacy {
				writeLegacyLog(t, dir, 200, 200, 200)
			} else {
				l := openLog(t, dir, Options{CheckpointEvery: -1})
				for i := 0; i < 3; i++ {
					submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
				}
				waitWritten(t, l, 3)
				l.Close()
			}
			db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if l, err := Open(dir, Options{MasterKey: testKey}); !errors.Is(err, ErrDamaged) {
				if err == nil {
					l.Close()
				}
				t.Errorf("Open with %s = %v, want ErrDamaged", tc.name, err)
			}
			ro := openReadOnly(t, dir)
			defer ro.Close()
			if res, _ := ro.Verify(); res.OK {
				t.Errorf("Verify with %s = ok, want broken", tc.name)
			}
		})
	}
}
