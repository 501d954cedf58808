package admin

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// mergeEnv is three instances' logs of one project; page answers like
// Query with a local cursor ("" or c<seq>: only older than seq).
type mergeEnv map[string][]wire.Event // instance id → events newest first

func (m mergeEnv) page(id, cursor string, limit int) instancePage {
	pg := instancePage{in: keystore.Instance{ID: id}, pos: cursor}
	start := ^uint64(0)
	if cursor != "" {
		start = eventSeq("evt_" + strings.TrimPrefix(cursor, "c"))
	}
	for _, e := range m[id] {
		if eventSeq(e.ID) >= start {
			continue
		}
		if len(pg.items) == limit {
			pg.next = "c" + strings.TrimPrefix(pg.items[len(pg.items)-1].ID, "evt_")
			break
		}
		pg.items = append(pg.items, e)
	}
	return pg
}

func TestMergePagesWalksEveryLogOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logs := mergeEnv{}
	// a: 7 events, one a second; b: 4, at the same instants as some of a's
	// (ties go by instance id); c: 5, interleaved.
	add := func(id string, n int, every, offset time.Duration) {
		for seq := n; seq >= 1; seq-- {
			logs[id] = append(logs[id], wire.Event{ID: "evt_" + strconv.Itoa(seq), InstanceID: id, Time: t0.Add(offset + time.Duration(seq)*every)})
		}
	}
	add("inst_a", 7, time.Second, 0)
	add("inst_b", 4, 2*time.Second, 0)
	add("inst_c", 5, 1500*time.Millisecond, 250*time.Millisecond)
	var all []wire.Event
	pos := map[string]string{"inst_a": "", "inst_b": "", "inst_c": ""}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		var pgs []instancePage
		for _, id := range []string{"inst_a", "inst_b", "inst_c"} {
			if p, ok := pos[id]; ok && p != cursorDone {
				pgs = append(pgs, logs.page(id, p, 3))
			}
		}
		out := mergePages(pgs, 3)
		if len(out.Items) > 3 {
			t.Fatalf("page of %d items, want at most 3", len(out.Items))
		}
		all = append(all, out.Items...)
		if out.NextCursor == nil {
			break
		}
		var ok bool
		if pos, ok = decodeMergedCursor(*out.NextCursor); !ok {
			t.Fatalf("next cursor %q does not decode", *out.NextCursor)
		}
	}
	if len(all) != 16 {
		t.Fatalf("merged %d events, want 16 (each once)", len(all))
	}
	for i := 1; i < len(all); i++ {
		p, e := all[i-1], all[i]
		if e.Time.After(p.Time) || e.Time.Equal(p.Time) && e.InstanceID > p.InstanceID {
			t.Errorf("event %d (%s %s %s) listed after %s %s %s, want newest first by (time, instance)", i, e.InstanceID, e.ID, e.Time, p.InstanceID, p.ID, p.Time)
		}
	}
}

func TestMergePagesUnreachable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := instancePage{in: keystore.Instance{ID: "inst_a"}, items: []wire.Event{{ID: "evt_2", Time: t0.Add(time.Second)}, {ID: "evt_1", Time: t0}}}
	b := instancePage{in: keystore.Instance{ID: "inst_b"}, pos: "c9", err: errors.New("timeout")}
	out := mergePages([]instancePage{a, b}, 10)
	if len(out.Items) != 2 || len(out.Unreachable) != 1 || out.Unreachable[0] != "inst_b" || out.NextCursor != nil {
		t.Errorf("mergePages(a, b unreachable) = %+v, want a's 2 events, unreachable [inst_b], no next page", out)
	}
	out = mergePages([]instancePage{a, b}, 1)
	pos, _ := decodeMergedCursor(*out.NextCursor)
	if pos["inst_a"] != "c2" || pos["inst_b"] != "c9" {
		t.Errorf("cursor after one event = %v, want inst_a at c2 and inst_b where it was (c9)", pos)
	}
}

// follow answers one follow poll of logs from c, as listFollow asks each
// instance: after its position, or since the follow began when it has
// none; down instances do not answer.
func (m mergeEnv) follow(c followCursor, ids []string, down map[string]bool, limit int) wire.EventPage {
	var pgs []instancePage
	for _, id := range ids {
		pg := instancePage{in: keystore.Instance{ID: id}}
		if down[id] {
			pg.err = errors.New("timeout")
			pgs = append(pgs, pg)
			continue
		}
		seq, known := c.Pos[id]
		for _, e := range m[id] {
			if len(pg.items) < limit && eventSeq(e.ID) > seq && (known || !e.Time.Before(time.Unix(0, c.Start))) {
				pg.items = append(pg.items, e)
			}
		}
		pgs = append(pgs, pg)
	}
	return mergeFollow(c, pgs, limit)
}

func TestFollowCursorListsEachNewEventOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logs := mergeEnv{}
	now := t0
	rec := func(id string) {
		now = now.Add(time.Second)
		logs[id] = append([]wire.Event{{ID: "evt_" + strconv.Itoa(len(logs[id])+1), InstanceID: id, Time: now}}, logs[id]...)
	}
	rec("inst_a")
	rec("inst_a")
	rec("inst_b")
	rec("inst_c") // c has events but does not answer the first page
	// The first page: a and b answer (b's newest is on it, a's too), c does not.
	first := []instancePage{logs.page("inst_a", "", 10), logs.page("inst_b", "", 10), {in: keystore.Instance{ID: "inst_c"}, err: errors.New("timeout")}}
	start := now.Add(time.Millisecond)
	fc, ok := decodeFollowCursor(firstFollowCursor(first, start))
	if !ok || fc.Pos["inst_a"] != 2 || fc.Pos["inst_b"] != 1 || len(fc.Pos) != 2 {
		t.Fatalf("first follow cursor = %+v, want inst_a at 2, inst_b at 1, inst_c absent", fc)
	}
	if _, ok := decodeFollowCursor("evt_3"); ok {
		t.Error("evt_3 decodes as a follow cursor")
	}
	if isFollowCursor("evt_3") || !isFollowCursor(encodeFollowCursor(fc)) {
		t.Error("isFollowCursor does not tell a follow cursor from an event id")
	}

	ids := []string{"inst_a", "inst_b", "inst_c", "inst_d"}
	seen := map[string]int{}
	poll := func(down map[string]bool) wire.EventPage {
		out := logs.follow(fc, ids, down, 100)
		for i, e := range out.Items {
			seen[e.InstanceID+"/"+e.ID]++
			if i > 0 && e.Time.After(out.Items[i-1].Time) {
				t.Errorf("poll lists %s %s after an older event: want newest first", e.InstanceID, e.ID)
			}
		}
		var ok bool
		if out.FollowCursor == nil {
			t.Fatal("a follow poll without a follow cursor")
		}
		if fc, ok = decodeFollowCursor(*out.FollowCursor); !ok {
			t.Fatalf("follow cursor %q does not decode", *out.FollowCursor)
		}
		return out
	}
	if out := poll(nil); len(out.Items) != 0 {
		t.Errorf("first poll with nothing new lists %d events (%v), want none (inst_c's evt_1 predates the follow)", len(out.Items), out.Items)
	}
	rec("inst_a")
	rec("inst_b")
	rec("inst_c")
	rec("inst_d") // joined after the follow began
	out := poll(map[string]bool{"inst_b": true})
	if len(out.Items) != 3 || len(out.Unreachable) != 1 || out.Unreachable[0] != "inst_b" {
		t.Errorf("poll with b down = %d events, unreachable %v; want 3 (a, c, d) and [inst_b]", len(out.Items), out.Unreachable)
	}
	rec("inst_b")
	rec("inst_a")
	poll(nil)
	poll(nil)
	want := []string{"inst_a/evt_3", "inst_a/evt_4", "inst_b/evt_2", "inst_b/evt_3", "inst_c/evt_2", "inst_d/evt_1"}
	if len(seen) != len(want) {
		t.Errorf("follow listed %v, want %v", seen, want)
	}
	for _, k := range want {
		if seen[k] != 1 {
			t.Errorf("%s listed %d times, want once", k, seen[k])
		}
	}
}

// TestMergePagesSeqNotTimeOrder: a request's event has the time it began
// and the seq it was written with, so a slow request comes after a later
// one in its log. Paging on still lists every event once: the helper's
// case, then random logs whose times are out of seq order, at every page
// size.
func TestMergePagesSeqNotTimeOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	walk := func(logs mergeEnv, ids []string, limit int) []string {
		pos := map[string]string{}
		for _, id := range ids {
			pos[id] = ""
		}
		var all []string
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("paging does not end")
			}
			var pgs []instancePage
			for _, id := range ids {
				if p, ok := pos[id]; ok && p != cursorDone {
					pgs = append(pgs, logs.page(id, p, limit))
				}
			}
			out := mergePages(pgs, limit)
			for _, e := range out.Items {
				all = append(all, e.InstanceID+"/"+e.ID)
			}
			if out.NextCursor == nil {
				return all
			}
			var ok bool
			if pos, ok = decodeMergedCursor(*out.NextCursor); !ok {
				t.Fatalf("next cursor %q does not decode", *out.NextCursor)
			}
		}
	}
	once := func(what string, all []string, want int) {
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Errorf("%s: %s listed twice", what, id)
			}
			seen[id] = true
		}
		if len(seen) != want {
			t.Errorf("%s: listed %d events (%v), want all %d once", what, len(seen), all, want)
		}
	}
	logs := mergeEnv{
		"inst_a": {
			{ID: "evt_2", InstanceID: "inst_a", Time: t0.Add(1 * time.Second)}, // slow, began early
			{ID: "evt_1", InstanceID: "inst_a", Time: t0.Add(20 * time.Second)},
		},
		"inst_b": {{ID: "evt_1", InstanceID: "inst_b", Time: t0.Add(15 * time.Second)}},
	}
	once("slow request", walk(logs, []string{"inst_a", "inst_b"}, 2), 3)

	rnd := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		logs, ids, n := mergeEnv{}, []string{"inst_a", "inst_b", "inst_c"}, 0
		for _, id := range ids {
			k := rnd.IntN(12)
			for seq := k; seq >= 1; seq-- { // newest written first, times jittered
				jitter := time.Duration(rnd.IntN(5000)) * time.Millisecond
				logs[id] = append(logs[id], wire.Event{ID: "evt_" + strconv.Itoa(seq), InstanceID: id, Time: t0.Add(time.Duration(seq)*time.Second - jitter)})
			}
			n += k
		}
		for limit := 1; limit <= 5; limit++ {
			once("random logs, limit "+strconv.Itoa(limit), walk(logs, ids, limit), n)
		}
	}
}
