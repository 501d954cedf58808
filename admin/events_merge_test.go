package admin

import (
	"errors"
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
