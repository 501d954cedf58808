package events

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// storedEvents reads every entry after the chain's start, as Verify
// walks them, newest first: what Query must agree with.
func storedEvents(t *testing.T, l *Log) []Event {
	t.Helper()
	var out []Event
	l.db.View(func(tx *bolt.Tx) error {
		a, _, _ := l.chainStart(tx)
		it := newEntryIter(tx)
		for seq, v, _, _, ok := it.next(); ok; seq, v, _, _, ok = it.next() {
			if seq < a.Seq {
				continue
			}
			q := &query{l: l}
			q.lines = []blockLine{{seq, v}}
			e, found, err := q.event(nil, 0, seq)
			if err != nil || !found {
				t.Fatalf("entry %d: found %v, %v", seq, found, err)
			}
			out = append(out, e)
		}
		return nil
	})
	slices.Reverse(out)
	return out
}

// queryAll follows Query's cursors to the end and returns every event.
func queryAll(t *testing.T, l *Log, f Filter) []Event {
	t.Helper()
	var all []Event
	for pages := 0; ; pages++ {
		page, next, err := l.Query(f)
		if err != nil {
			t.Fatalf("Query(%+v) = %v", f, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		if pages > 10_000 {
			t.Fatalf("Query(%+v) does not end", f)
		}
		f.Cursor = next
	}
}

func ids(es []Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// randomLog writes n events of 3 projects, 4 keys, request and admin
// types, some failures, with times that are not in seq order (a request
// event carries the time its request began), in batches of 97 so the
// writer fills blocks over several transactions.
func randomLog(t *testing.T, l *Log, rng *rand.Rand, n int, base time.Time) {
	t.Helper()
	projects := []string{"prj_a", "prj_b", "prj_c"}
	keys := []string{"qk_1", "qk_2", "qk_3", "qk_4"}
	admin := []string{TypeKeyCreated, TypeKeyRevoked, TypeProjectUpdated, TypeRouteCreated, TypeAuthFailed}
	w0 := l.Written()
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(20_000))*time.Millisecond)
		p, k := projects[rng.IntN(len(projects))], keys[rng.IntN(len(keys))]
		switch rng.IntN(10) {
		case 0:
			key := k
			l.Record(Event{Type: admin[rng.IntN(len(admin))], Time: at, ProjectID: p, KeyID: &key, Actor: "admin"})
		case 1:
			submitStatus(l, 401, i, at) // prj_a, no key
		default:
			submit(l, p, k, i, at)
		}
		if i%97 == 96 {
			waitWritten(t, l, w0+uint64(i+1))
		}
	}
	waitWritten(t, l, w0+uint64(n))
}

// filterEvents is Query's meaning, by brute force.
func filterEvents(all []Event, f Filter) []Event {
	var out []Event
	for _, e := range all {
		if e.ProjectID == f.ProjectID && f.matches(e) {
			out = append(out, e)
		}
	}
	return out
}

func TestQueryAgreesWithStoredEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: base.Add(3000 * time.Second)}
	l := openLog(t, t.TempDir(), Options{Now: c.Now, MaxAge: time.Hour, MaxCount: 1_000_000, CheckpointEvery: -1})
	defer l.Close()
	randomLog(t, l, rng, 2500, base)
	check := func(stage string) {
		all := storedEvents(t, l)
		var filters []Filter
		for _, p := range []string{"prj_a", "prj_b", "prj_nobody"} {
			for _, k := range []string{"", "qk_2"} {
				for _, typ := range []string{"", TypeRequest, TypeKeyRevoked, "key.", TypeAuthFailed} {
					for _, limit := range []int{7, 100} {
						f := Filter{ProjectID: p, KeyID: k, Type: typ, Limit: limit}
						filters = append(filters, f)
						f.Since, f.Until = base.Add(700*time.Second), base.Add(1900*time.Second)
						filters = append(filters, f)
						f.Since = time.Time{}
						filters = append(filters, f)
					}
				}
			}
		}
		for _, f := range filters {
			got, want := ids(queryAll(t, l, f)), ids(filterEvents(all, f))
			if !slices.Equal(got, want) {
				t.Fatalf("%s: Query(%+v) = %d events %v…, want %d %v…", stage, f, len(got), first5(got), len(want), first5(want))
			}
		}
		// After: only newer events, for --follow.
		if len(all) > 10 {
			f := Filter{ProjectID: "prj_b", After: all[len(all)/2].ID, Limit: 1000}
			if got, want := ids(queryAll(t, l, f)), ids(filterEvents(all[:len(all)/2], f)); !slices.Equal(got, want) {
				t.Fatalf("%s: Query(after %s) = %v, want %v", stage, f.After, first5(got), first5(want))
			}
		}
		if res, err := l.Verify(); err != nil || !res.OK {
			t.Fatalf("%s: Verify = %+v (%+v), %v", stage, res, res.Broken, err)
		}
	}
	check("written")
	// Retention: failures out of the middle of blocks, then the oldest
	// from the front (whole blocks and part of one).
	l.opts.MaxCount = 2000
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	check("failures pruned")
	l.opts.MaxCount = 900
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	check("front pruned")
	if got := len(storedEvents(t, l)); got != 900 {
		t.Fatalf("after pruning to 900: %d entries", got)
	}
	// The writer goes on after retention closed its block.
	randomLog(t, l, rng, 300, base.Add(3000*time.Second))
	check("written after pruning")
}

func first5(s []string) []string { return s[:min(len(s), 5)] }

func TestBlocksHoldManyEntriesAndEndWhenFull(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{BatchSize: 4096, BatchDelay: time.Hour, CheckpointEvery: -1})
	at := time.Unix(1e9, 0)
	for i := 0; i < 1300; i++ {
		submit(l, "prj_a", "qk_a", i, at)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{})
	defer l.Close()
	var sizes []int
	l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlocks)
		return b.ForEach(func(k, _ []byte) error {
			n := 0
			forEachLine(readBlock(b, k), func(uint64, []byte) bool { n++; return true })
			sizes = append(sizes, n)
			return nil
		})
	})
	// 1300 events in one transaction: two full blocks and the rest.
	if want := []int{blockMaxEntries, blockMaxEntries, 1300 - 2*blockMaxEntries}; !slices.Equal(sizes, want) {
		t.Errorf("blocks hold %v entries, want %v", sizes, want)
	}
	if res, err := l.Verify(); err != nil || !res.OK || res.Checked != 1300 {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}

func TestOpenMovesALegacyLogIntoBlocks(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 7 // several transactions
	dir := t.TempDir()
	statuses := []int{200, 401, 200, 200, 401, 401, 200, 200, 200, 200, 401, 200, 200, 200, 200, 200, 200, 200, 200, 200}
	writeSignedLegacyLog(t, dir, statuses)
	l := openLog(t, dir, Options{CheckpointEvery: -1})
	defer l.Close()
	res, err := l.Verify()
	if err != nil || !res.OK || res.Checked != uint64(len(statuses)) {
		t.Fatalf("Verify after the move = %+v (%+v), %v, want ok over %d", res, res.Broken, err, len(statuses))
	}
	l.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketByProject, bucketFailures} {
			if tx.Bucket(b) != nil {
				t.Errorf("bucket %s still there after the move", b)
			}
		}
		return nil
	})
	page, _, err := l.Query(Filter{ProjectID: "prj_a", Limit: 100})
	if err != nil || len(page) != len(statuses) || page[0].ID != fmt.Sprintf("evt_%d", len(statuses)) {
		t.Fatalf("Query after the move = %d events, %v", len(page), err)
	}
	// Failures were moved into the blocks' failure lists: retention
	// removes them first.
	l.opts.MaxCount = 16
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	page, _, _ = l.Query(Filter{ProjectID: "prj_a", Limit: 100})
	for _, e := range page {
		if e.Status == 401 {
			t.Errorf("retention kept failure %s and left %d events", e.ID, len(page))
		}
	}
	if res, err := l.Verify(); err != nil || !res.OK {
		t.Fatalf("Verify after pruning = %+v (%+v), %v", res, res.Broken, err)
	}
}

// writeSignedLegacyLog writes a log as sdproxy wrote them before blocks
// (one entry per value, signed head, failures index).
func writeSignedLegacyLog(t *testing.T, dir string, statuses []int) {
	t.Helper()
	k, _ := deriveKeys(testKey)
	l := &Log{keys: k}
	db, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketByProject, bucketMeta, bucketPruned, bucketFailures} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		prev, _ := hex.DecodeString(genesis)
		h := head{MAC: genesis}
		for i, status := range statuses {
			seq := uint64(i + 1)
			ev := appendEvent(nil, &Event{ID: fmt.Sprintf("evt_%d", seq), Type: TypeRequest,
				Time: time.Unix(1e9+int64(i), 0).UTC(), ProjectID: "prj_a", Status: status})
			mac := l.mac(prev, seq, ev)
			tx.Bucket(bucketEvents).Put(seqKey(seq), appendEntry(nil, seq, prev, mac, ev))
			tx.Bucket(bucketByProject).Put(projectKey("prj_a", seq), nil)
			if status == 401 {
				tx.Bucket(bucketFailures).Put(seqKey(seq), nil)
				h.Failures++
			}
			h.Seq, h.Live, h.MAC, prev = seq, h.Live+1, hex.EncodeToString(mac), mac
		}
		return l.putHead(tx.Bucket(bucketMeta), h)
	})
	if err != nil {
		t.Fatal(err)
	}
}
