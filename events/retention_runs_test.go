package events

import (
	"bytes"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// runsOf lists the records of pruned failures as from..to pairs.
func runsOf(l *Log) [][2]uint64 {
	var out [][2]uint64
	l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPruned).ForEach(func(k, v []byte) error {
			r, _ := l.readRun(k, v)
			out = append(out, [2]uint64{r.From, r.To})
			return nil
		})
	})
	return out
}

func TestVerifyAfterPruningFailuresFindsEveryOtherRemoval(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(tx *bolt.Tx) error
		want   uint64 // where Verify breaks
	}{
		{"the kept entry after a run", cutTail(48, 48), 49},
		{"the kept entry before a run", cutTail(7, 7), 8},
		{"a kept failure", cutTail(45, 45), 46},
		{"a run record", func(tx *bolt.Tx) error { return tx.Bucket(bucketPruned).Delete(seqKey(8)) }, 41},
		{"a run record made longer", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketPruned)
			v := bytes.Replace(b.Get(seqKey(8)), []byte(`"to":40`), []byte(`"to":41`), 1)
			return b.Put(seqKey(8), v)
		}, 8},
		{"the pruned bucket", func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketPruned) }, 41},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := failureLog(t, Options{MaxCount: 20, MaxAge: time.Hour})
			defer l.Close()
			if err := l.Prune(); err != nil {
				t.Fatal(err)
			}
			if got := runsOf(l); len(got) != 1 || got[0] != [2]uint64{8, 40} {
				t.Fatalf("pruned runs = %v, want [8 40]", got)
			}
			if res, _ := l.Verify(); !res.OK || res.Pruned != 33 || res.FirstSeq != 1 || res.LastSeq != 53 {
				t.Fatalf("Verify after pruning = %+v, want ok, 33 pruned, evt_1..53", res)
			}
			tamper(t, l, tc.tamper)
			if res, err := l.Verify(); err != nil || res.OK || res.Broken.Seq != tc.want {
				t.Errorf("Verify after removing %s = %+v (%+v), %v, want broken at %d", tc.name, res, res.Broken, err, tc.want)
			}
		})
	}
}

func TestRetentionIgnoresAForgedFailureIndex(t *testing.T) {
	l, _ := failureLog(t, Options{MaxCount: 20, MaxAge: time.Hour})
	defer l.Close()
	// Someone lists the admin events and authenticated requests as
	// failures, hoping retention deletes them.
	tamper(t, l, func(tx *bolt.Tx) error {
		return listFailures(tx, 1, 2, 3, 4, 5, 6, 7)
	})
	if err := l.Prune(); err != nil {
		t.Fatalf("Prune = %v", err)
	}
	for seq := uint64(1); seq <= 7; seq++ {
		var v []byte
		l.db.View(func(tx *bolt.Tx) error { v = getEntry(tx, seq); return nil })
		if v == nil {
			t.Errorf("Prune deleted evt_%d, which the index falsely named a failure", seq)
		}
	}
	if res, _ := l.Verify(); !res.OK || res.Checked != 20 {
		t.Errorf("Verify = %+v, want ok over 20", res)
	}
}

func TestRetentionStopsAtAChangedEntry(t *testing.T) {
	l, _ := failureLog(t, Options{MaxCount: 8, MaxAge: time.Hour})
	defer l.Close()
	// An admin event changed into a 401 request (its mac no longer
	// matches) and listed as a failure: retention must not delete it and
	// so hide the change.
	tamper(t, l, func(tx *bolt.Tx) error {
		if err := replaceInEntry(tx, 48, `"type":"key.revoked"`, `"type":"request","status":401`); err != nil {
			return err
		}
		return listFailures(tx, 48)
	})
	if err := l.Prune(); err == nil {
		t.Errorf("Prune over a changed entry = nil, want an error")
	}
	if res, _ := l.Verify(); res.OK || res.Broken.Seq != 48 {
		t.Errorf("Verify = %+v, want broken at 48", res)
	}
}

func TestRetentionByAgeFoldsRunsIntoTheAnchor(t *testing.T) {
	l, c := failureLog(t, Options{MaxCount: 20, MaxAge: time.Hour})
	defer l.Close()
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Hour)
	l.Record(Event{Type: TypeProjectUpdated, Time: c.Now(), ProjectID: "prj_a", Actor: "admin"})
	waitWritten(t, l, 54)
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	res, _ := l.Verify()
	if !res.OK || res.Checked != 1 || res.FirstSeq != 54 || res.Pruned != 0 || len(runsOf(l)) != 0 {
		t.Errorf("after age pruning: Verify = %+v, runs %v, want ok over evt_54 alone and no runs", res, runsOf(l))
	}
}

func TestRetentionSurvivesReopenAndMoreWrites(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openLog(t, dir, Options{Now: c.Now, MaxCount: 10})
	for round := 0; round < 5; round++ {
		for i := 0; i < 10; i++ {
			submitStatus(l, []int{401, 401, 200}[i%3], i, c.Now())
			if i%4 == 0 {
				l.Record(authFailed(c.Now(), 3))
			}
		}
		waitWritten(t, l, uint64(13*(round+1)))
		if err := l.Prune(); err != nil {
			t.Fatal(err)
		}
		if res, _ := l.Verify(); !res.OK {
			t.Fatalf("round %d: Verify = %+v (%+v), want ok", round, res, res.Broken)
		}
	}
	l.Close()
	l = openLog(t, dir, Options{Now: c.Now, MaxCount: 10})
	defer l.Close()
	res, _ := l.Verify()
	// 15 authenticated requests and 50 failures: the failures go first,
	// then the oldest requests, so 10 remain, runs of failures between.
	if !res.OK || res.Checked != 10 || res.LastSeq != 65 || res.Pruned == 0 {
		t.Errorf("after reopening: Verify = %+v, want ok over 10 entries up to evt_65", res)
	}
}

func TestPrunedFailureCheckpointStillVerifies(t *testing.T) {
	l, _ := failureLog(t, Options{MaxCount: 20, MaxAge: time.Hour})
	defer l.Close()
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	// evt_53 is the newest failure; prune everything but 8 so it goes.
	l.opts.MaxCount = 8
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	if res, err := l.VerifyWith(VerifyOptions{Checkpoint: &cp}); err != nil || !res.OK || res.LastSeq != 53 {
		t.Errorf("VerifyWith(checkpoint of evt_53, since pruned) = %+v, %v, want ok ending at 53", res, err)
	}
	var h head
	l.db.View(func(tx *bolt.Tx) (err error) { h, err = l.loadHead(tx.Bucket(bucketMeta)); return err })
	if h.Seq != 53 || h.Live != 8 || h.Failures != 0 {
		t.Errorf("head = %+v, want seq 53 with 8 entries, no failures", h)
	}
	if got := runsOf(l); len(got) != 2 || got[1] != [2]uint64{49, 53} {
		t.Errorf("runs = %v, want [8 47] [49 53]", got)
	}
}
