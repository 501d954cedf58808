package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRecordRendersTheSameJSON: a request record, of either form, read
// back renders the JSON the request itself renders, and a record cut
// short, lengthened or with unknown flags does not read.
func TestRecordRendersTheSameJSON(t *testing.T) {
	rnd := rand.New(rand.NewSource(2))
	for i := 0; i < 4000; i++ {
		r := randomRequest(rnd)
		recordLike(rnd, r)
		inst := []string{"", "inst_a", "inst_\"q"}[rnd.Intn(3)]
		rec := appendRecord(nil, inst, r)
		if i%2 == 1 {
			rec = appendFullRecord(nil, inst, r)
		}
		var d decoded
		if err := decodeRecord(rec, &d); err != nil {
			t.Fatalf("decodeRecord(%q of %+v) = %v", rec, r, err)
		}
		if got, want := appendRequest(nil, "evt_9", d.inst, &d.Request), appendRequest(nil, "evt_9", inst, r); !bytes.Equal(got, want) {
			t.Fatalf("record %q read back renders\n%s\nwant\n%s", rec, got, want)
		}
		for n := range rec {
			if decodeRecord(rec[:n], &d) == nil {
				t.Fatalf("record cut to %d of %d bytes reads", n, len(rec))
			}
		}
		if decodeRecord(append(rec[:len(rec):len(rec)], 0), &d) == nil {
			t.Fatal("record with a byte after it reads")
		}
	}
	r := &Request{Time: time.Unix(1e9, 0), Status: 1}
	for _, rec := range [][]byte{appendFullRecord(nil, "", r), appendRecord(nil, "", r)} {
		rec[9+6] = 0x04 // the flags byte, after the time and six varints of one byte each
		var d decoded
		if err := decodeRecord(rec, &d); err == nil {
			t.Errorf("record %q with an unknown flag reads", rec)
		}
	}
}

// recordLike makes a random request more like what the proxy records
// some of the time: a method and mode that have codes, a path under
// /proxy/<project>, and now and then a negative number (which only the
// full form holds).
func recordLike(rnd *rand.Rand, r *Request) {
	if rnd.Intn(2) == 0 {
		r.SetMethod([]byte(recMethods[1+rnd.Intn(len(recMethods)-1)]))
	}
	if rnd.Intn(2) == 0 {
		r.Mode = recModes[1+rnd.Intn(len(recModes)-1)]
	}
	if rnd.Intn(2) == 0 {
		r.SetPath([]byte("/proxy/" + r.ProjectID + []string{"", "/", "/items/1", "x", "/é"}[rnd.Intn(5)]))
	}
	switch rnd.Intn(20) {
	case 0:
		r.Latency = -r.Latency - time.Microsecond
	case 1:
		r.Status = -1
	case 2:
		r.Untransformed = 1 << 40
	}
}

// TestCompactRecord: a request is recorded compact unless a number is
// negative or too large, a typical one in fewer bytes than in full, and
// a compact record spelled other than the one way appendRecord spells
// it does not read.
func TestCompactRecord(t *testing.T) {
	r := benchRequest()
	compact, full := appendRecord(nil, "inst_abcdefghijklmnop", r), appendFullRecord(nil, "inst_abcdefghijklmnop", r)
	if compact[0] != recCompact || full[0] != recRequest {
		t.Fatalf("forms %#x, %#x", compact[0], full[0])
	}
	// Three SHA-256 blocks for the tag instead of four: prev, seq and the
	// record with the hash's 9 bytes of padding in 192 bytes.
	if n := tagSize + 8 + len(compact) + 9; n > 192 || len(full) <= len(compact) {
		t.Errorf("a typical record is %d bytes compact (tag input and padding %d), %d in full", len(compact), n, len(full))
	}
	for _, neg := range []func(*Request){
		func(r *Request) { r.Status = -1 },
		func(r *Request) { r.Latency = -time.Millisecond },
		func(r *Request) { r.Upstream = -time.Millisecond },
		func(r *Request) { r.RequestValues = 1 << 31 },
	} {
		r := benchRequest()
		neg(r)
		if rec := appendRecord(nil, "", r); rec[0] != recRequest {
			t.Errorf("record of %+v is %#x, want the full form", r, rec[0])
		}
	}
	// Hand-spelled compact records of r: what each changes of the
	// canonical one.
	r = &Request{Time: time.Unix(1e9, 0), ProjectID: "prj_a", Mode: "encrypt"}
	r.SetMethod([]byte("POST"))
	r.SetPath([]byte("/proxy/prj_a/x"))
	head := func(flags, mc, oc byte, p uint32) []byte {
		b := append([]byte{recCompact}, appendRecord(nil, "", r)[1:9]...)
		b = append(b, 0, 0, 0, 0, 0, 0, flags, mc, oc)
		return binary.AppendUvarint(b, uint64(p))
	}
	var d decoded
	ok := append(appendStr(head(2, 2, 1, 1<<1|1<<4), "prj_a"), appendStr(nil, "/x")...)
	if !bytes.Equal(ok, appendRecord(nil, "", r)) {
		t.Fatalf("hand-spelled record %q, appendRecord %q", ok, appendRecord(nil, "", r))
	}
	if err := decodeRecord(ok, &d); err != nil || string(d.path) != "/proxy/prj_a/x" || string(d.method) != "POST" || d.Mode != "encrypt" {
		t.Fatalf("decodeRecord = %v, %+v", err, d)
	}
	for name, rec := range map[string][]byte{
		"method written out":   append(appendStr(appendStr(head(2, 0, 1, 1<<1|1<<3|1<<4), "prj_a"), "POST"), appendStr(nil, "/x")...),
		"mode written out":     append(appendStr(appendStr(head(2, 2, 0, 1<<1|1<<4|1<<5), "prj_a"), "/x"), appendStr(nil, "encrypt")...),
		"path whole":           append(appendStr(head(0, 2, 1, 1<<1|1<<4), "prj_a"), appendStr(nil, "/proxy/prj_a/x")...),
		"path not under":       append(appendStr(head(2, 2, 1, 1<<1|1<<4), "prj_a"), appendStr(nil, "x")...),
		"empty string there":   append(appendStr(head(2, 2, 1, 1<<1|1<<4|1<<7), "prj_a"), append(appendStr(nil, "/x"), 0)...),
		"code past the last":   append(appendStr(head(2, byte(len(recMethods)), 1, 1<<1|1<<4), "prj_a"), appendStr(nil, "/x")...),
		"string past the 15th": append(appendStr(head(2, 2, 1, 1<<1|1<<4|1<<15), "prj_a"), append(appendStr(nil, "/x"), 1, 'a')...),
	} {
		if err := decodeRecord(rec, &d); err == nil {
			t.Errorf("%s: %q reads", name, rec)
		}
	}
}

// TestQueryReturnsWhatTheSinkGot writes requests of every kind, one of
// them at a time a record cannot hold (stored as JSON), and admin events,
// and checks that Query returns each event as the sink received it, and
// that the stored entries are binary.
func TestQueryReturnsWhatTheSinkGot(t *testing.T) {
	var sink syncBuffer
	l := openLog(t, t.TempDir(), Options{Sink: &sink, CheckpointEvery: -1, InstanceID: "inst_q"})
	defer l.Close()
	rnd := rand.New(rand.NewSource(3))
	const n = 300
	for i := 0; i < n; i++ {
		if i%50 == 7 {
			key := "qk_a"
			l.Record(Event{Type: TypeKeyRevoked, Time: time.Unix(1e9, int64(i)), ProjectID: "prj_q", KeyID: &key, Actor: "admin"})
			continue
		}
		r := l.Acquire()
		*r = *randomRequest(rnd)
		r.ProjectID = "prj_q"
		if i == 11 {
			r.Time = time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC)
		}
		l.Submit(r)
	}
	waitWritten(t, l, n)
	want := map[string]Event{}
	for _, line := range sink.waitLines(t, n) {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("sink line %s: %v", line, err)
		}
		want[e.ID] = e
	}
	got := queryAll(t, l, Filter{ProjectID: "prj_q", Limit: 100})
	if len(got) != n || len(want) != n {
		t.Fatalf("Query returned %d events, the sink got %d, want %d", len(got), len(want), n)
	}
	for _, e := range got {
		if !reflect.DeepEqual(e, want[e.ID]) {
			t.Fatalf("Query returned %+v\nthe sink got %+v", e, want[e.ID])
		}
	}
	if storedEvents(t, l)[n-12].Time.Year() != 1500 {
		t.Error("the request of year 1500 was not stored with its time")
	}
	l.db.View(func(tx *bolt.Tx) error {
		for seq := uint64(1); seq <= n; seq++ {
			v := getEntry(tx, seq)
			_, _, _, event, ok := parseBinEntry(v)
			wantRecord := seq%50 != 8 && seq != 12
			if !ok || isRecord(event) != wantRecord {
				t.Errorf("evt_%d stored as %.20q, want a binary entry holding a request record: %v", seq, v, wantRecord)
			}
		}
		return nil
	})
}

// TestJSONBlocksThenBinary opens a log whose blocks hold JSON lines
// (written before the binary format), writes more, and checks that the
// chain verifies across both, that Query and retention read both, and
// that the old blocks stay as they were.
func TestJSONBlocksThenBinary(t *testing.T) {
	dir := t.TempDir()
	statuses := []int{200, 401, 200, 200, 401, 200, 200, 200, 401, 200}
	writeSignedLegacyLog(t, dir, statuses) // moved into blocks of JSON lines at Open
	c := &clock{t: time.Unix(1e9+100, 0)}
	l := openLog(t, dir, Options{CheckpointEvery: -1, Now: c.Now})
	defer l.Close()
	for i := 0; i < 10; i++ {
		submitStatus(l, statuses[i], 100+i, c.Now())
	}
	waitWritten(t, l, 10)
	formats := func() (s string) {
		l.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlocks)
			return b.ForEach(func(k, _ []byte) error {
				if isBinaryBlock(readBlock(b, k)) {
					s += "b"
				} else {
					s += "j"
				}
				return nil
			})
		})
		return s
	}
	if f := formats(); !strings.HasPrefix(f, "j") || !strings.HasSuffix(f, "b") {
		t.Fatalf("blocks are %q (j: JSON lines, b: binary), want the moved ones JSON and the new ones binary", f)
	}
	if res, err := l.Verify(); err != nil || !res.OK || res.Checked != 20 {
		t.Fatalf("Verify = %+v (%+v), %v, want ok over 20", res, res.Broken, err)
	}
	left := queryTwentyThenPrune(t, l)
	for _, e := range left {
		if e.Status == 401 {
			t.Errorf("retention kept failure %s", e.ID)
		}
	}
	if len(left) != 14 {
		t.Errorf("retention left %d events, want 14 (the 6 failures gone)", len(left))
	}
	if res, err := l.Verify(); err != nil || !res.OK || res.Pruned != 6 {
		t.Fatalf("Verify after pruning failures of both formats = %+v (%+v), %v", res, res.Broken, err)
	}
	if f := formats(); !strings.HasPrefix(f, "j") || !strings.HasSuffix(f, "b") {
		t.Errorf("blocks after retention are %q, want each kept in its format", f)
	}
}

// queryTwentyThenPrune checks that Query pages through a log of 20
// events of prj_a, newest first, as they are stored, prunes it to 14
// events and returns what Query returns then.
func queryTwentyThenPrune(t *testing.T, l *Log) []Event {
	t.Helper()
	all := queryAll(t, l, Filter{ProjectID: "prj_a", Limit: 7})
	if len(all) != 20 || all[0].ID != "evt_20" || all[19].ID != "evt_1" {
		t.Fatalf("Query = %v, want evt_20 … evt_1", ids(all))
	}
	if !reflect.DeepEqual(all, storedEvents(t, l)) {
		t.Fatal("Query disagrees with the stored entries")
	}
	l.opts.MaxCount = 14
	if err := l.Prune(); err != nil {
		t.Fatal(err)
	}
	return queryAll(t, l, Filter{ProjectID: "prj_a", Limit: 100})
}

// TestLongMACsThenShortTags opens a log of entries with 32-byte macs (the
// binary form before short tags) and writes on: the chain goes on from
// the last long mac with short tags, and verify (also against a
// checkpoint of each form), query and failure pruning work across both.
func TestLongMACsThenShortTags(t *testing.T) {
	dir := t.TempDir()
	statuses := []int{200, 401, 200, 200, 401, 200, 200, 200, 401, 200}
	c := &clock{t: time.Unix(1e9+100, 0)}
	l := openLog(t, dir, Options{CheckpointEvery: -1, Now: c.Now, longMACs: true})
	for i, st := range statuses {
		submitStatus(l, st, i, c.Now())
	}
	waitWritten(t, l, 10)
	longCP, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, dir, Options{CheckpointEvery: -1, Now: c.Now})
	defer l.Close()
	for i, st := range statuses {
		submitStatus(l, st, 100+i, c.Now())
	}
	waitWritten(t, l, 10)
	forms := func() (s string) {
		l.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlocks)
			return b.ForEach(func(k, _ []byte) error {
				forEachLine(readBlock(b, k), func(_ uint64, line []byte) bool {
					s += map[byte]string{entryBinary: "l", entryShort: "s"}[line[0]]
					return true
				})
				return nil
			})
		})
		return s
	}
	if f := forms(); f != strings.Repeat("l", 10)+strings.Repeat("s", 10) {
		t.Fatalf("entries are %q (l: 32-byte macs, s: short tags), want 10 of each", f)
	}
	shortCP, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if len(longCP.MAC) != 64 || len(shortCP.MAC) != 32 {
		t.Fatalf("checkpoint macs %q, %q: want 64 and 32 hex digits", longCP.MAC, shortCP.MAC)
	}
	for _, cp := range []Checkpoint{longCP, shortCP} {
		line, _ := json.Marshal(checkpointLine{Type: "checkpoint", Checkpoint: cp})
		parsed, err := ParseCheckpoint(line)
		if err != nil {
			t.Fatalf("ParseCheckpoint(%s): %v", line, err)
		}
		if res, err := l.VerifyWith(VerifyOptions{Checkpoint: &parsed}); err != nil || !res.OK || res.Checked != 20 {
			t.Fatalf("VerifyWith(checkpoint at %d) = %+v (%+v), %v, want ok over 20", cp.Seq, res, res.Broken, err)
		}
	}
	if left := queryTwentyThenPrune(t, l); len(left) != 14 {
		t.Errorf("retention left %d events, want 14 (the 6 failures gone)", len(left))
	}
	if res, err := l.Verify(); err != nil || !res.OK || res.Pruned != 6 {
		t.Fatalf("Verify after pruning failures of both forms = %+v (%+v), %v", res, res.Broken, err)
	}
	if f := forms(); f != "lllllllsssssss" {
		t.Errorf("entries after retention are %q, want each kept in its form", f)
	}
}

// TestLongMACCutToATagBreaksTheChain: an entry with a 32-byte mac
// rewritten as a short-tag entry carrying the mac's first 16 bytes has a
// tag that holds on its own, but the next entry links to the whole mac
// (or the signed head does, for the last entry), so verify names it.
func TestLongMACCutToATagBreaksTheChain(t *testing.T) {
	for _, seq := range []uint64{3, 5} {
		dir := t.TempDir()
		c := &clock{t: time.Unix(1e9+100, 0)}
		l := openLog(t, dir, Options{CheckpointEvery: -1, Now: c.Now, longMACs: true})
		for i := 0; i < 5; i++ {
			submitStatus(l, 200, i, c.Now())
		}
		waitWritten(t, l, 5)
		err := l.db.Update(func(tx *bolt.Tx) error {
			s, prev, mac, event, ok := parseBinEntry(getEntry(tx, seq))
			if !ok || s != seq || len(mac) != macSize {
				t.Fatalf("evt_%d does not read as an entry with a 32-byte mac", seq)
			}
			cut := append([]byte{entryShort, byte(len(prev))}, mac[:tagSize]...)
			cut = append(binary.BigEndian.AppendUint64(append(cut, prev...), seq), event...)
			en, reason := readEntry(seq, cut)
			if reason != "" || !l.macOK(en) {
				t.Fatalf("the cut entry does not hold on its own (%q): the test proves nothing", reason)
			}
			return putEntry(tx, seq, cut)
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.Verify()
		if err != nil || res.OK {
			t.Errorf("Verify with evt_%d's mac cut to a tag = %+v, %v, want broken", seq, res, err)
		} else {
			t.Logf("evt_%d cut: %+v", seq, res.Broken)
		}
		l.Close()
	}
}

// BenchmarkAppendRecord encodes one request record as the writer does
// (compare BenchmarkAppendRequest, its JSON).
func BenchmarkAppendRecord(b *testing.B) {
	r := benchRequest()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendRecord(buf[:0], benchInstance, r)
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

// TestBlockClaimingAHugeLengthDoesNotRead: a block's decompressed length
// comes from the file; one changed to claim 1 GiB reads as no block
// (Verify names the entries missing) instead of making readers allocate
// it.
func TestBlockClaimingAHugeLengthDoesNotRead(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1})
	defer l.Close()
	for i := 0; i < 5; i++ {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	waitWritten(t, l, 5)
	tamper(t, l, func(tx *bolt.Tx) error {
		z := binary.AppendUvarint(nil, 1<<30)
		return putBlock(tx.Bucket(bucketBlocks), seqKey(1), append(z, 0, 0, 0, 0))
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := l.Verify()
	runtime.ReadMemStats(&after)
	if err != nil || res.OK {
		t.Fatalf("Verify of a log whose only block claims 1 GiB = %+v, %v, want broken", res, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("Verify allocated %d MiB for a block that claims 1 GiB", grew>>20)
	}
	if page, _, err := l.Query(Filter{ProjectID: "prj_a"}); err != nil || len(page) != 0 {
		t.Fatalf("Query = %d events, %v; want none (the block does not read)", len(page), err)
	}
}

// TestEntryLengths: the writer encodes entries in place in the block,
// with their length before them in as many bytes as it takes (one below
// 128 bytes, three from 16 KiB): tiny, typical and huge requests
// written together read back as the sink got them, and verify.
func TestEntryLengths(t *testing.T) {
	var sink syncBuffer
	l := openLog(t, t.TempDir(), Options{Sink: &sink, CheckpointEvery: -1})
	defer l.Close()
	long := strings.Repeat("f", MaxFieldNameBytes)
	names := []byte(strings.TrimSuffix(strings.Repeat(long+",", MaxFieldNames), ","))
	sizes := map[int]bool{}
	for i := 0; i < 30; i++ {
		r := l.Acquire()
		r.Time = time.Unix(1e9, int64(i))
		switch i % 3 {
		case 0: // nothing but the time: an entry under 128 bytes
		case 1:
			*r = *benchRequest()
		case 2:
			*r = *benchRequest()
			r.SetFields(names)
			r.SetResponseFields(names)
			r.SetPath([]byte("/proxy/prj_abcdefghijkl/" + strings.Repeat("p", MaxPathBytes)))
		}
		sizes[len(appendBinEntry(l.wmacOrNew(), nil, 1, make([]byte, tagSize), appendRecord(nil, "", r), false))] = true
		l.Submit(r)
	}
	waitWritten(t, l, 30)
	var short, long3 bool
	for n := range sizes {
		short, long3 = short || n < 1<<7, long3 || n >= 1<<14
	}
	if !short || !long3 {
		t.Fatalf("entry sizes %v: want one under 128 bytes and one of 16 KiB or more", sizes)
	}
	want := map[string]Event{}
	for _, line := range sink.waitLines(t, 30) {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		want[e.ID] = e
	}
	got := append(queryAll(t, l, Filter{Limit: 100}), queryAll(t, l, Filter{ProjectID: "prj_abcdefghijkl", Limit: 100})...)
	if len(got) != 30 || len(want) != 30 {
		t.Fatalf("Query returned %d events, the sink got %d, want 30", len(got), len(want))
	}
	for _, e := range got {
		if !reflect.DeepEqual(e, want[e.ID]) {
			t.Fatalf("Query returned %+v\nthe sink got %+v", e, want[e.ID])
		}
	}
	if res, err := l.Verify(); err != nil || !res.OK || res.Checked != 30 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

// TestRecordableBounds: a time is stored in a record only when its Unix
// nanoseconds hold it, whatever its location.
func TestRecordableBounds(t *testing.T) {
	east, west := time.FixedZone("east", 14*3600), time.FixedZone("west", -12*3600)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(1678, 12, 31, 23, 59, 59, 999999999, time.UTC), false},
		{time.Date(1679, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2261, 12, 31, 23, 59, 59, 999999999, time.UTC), true},
		{time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2262, 1, 1, 0, 0, 0, 0, east), true}, // 2261 in UTC
		{time.Date(1679, 1, 1, 0, 0, 0, 0, west), true},
		{time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC), false},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 2, 0, 0, 0, 1, west), true},
	} {
		r := &Request{Time: c.at}
		if got := recordable(r); got != c.want {
			t.Errorf("recordable(%v) = %v, want %v", c.at, got, c.want)
		}
		if c.want && !time.Unix(0, c.at.UnixNano()).Equal(c.at) {
			t.Errorf("%v does not round-trip through Unix nanoseconds", c.at)
		}
	}
}
