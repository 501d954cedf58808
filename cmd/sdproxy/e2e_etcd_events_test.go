package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// TestE2EEtcdEventsMerged: three instances on one etcd each keep their
// own log; the event list of any of them merges all three, newest first,
// paging through every event once; `events verify --all` verifies each
// chain; an instance that does not answer is named, not fatal.
func TestE2EEtcdEventsMerged(t *testing.T) {
	etcd := etcdtest.Start(t)
	master, token := e2e.NewMasterKey(t), e2e.NewAdminToken(t)
	insts := make([]*etcdInstance, 3)
	for i := range insts {
		insts[i] = startEtcdInstance(t, etcd, master, token, t.TempDir())
	}
	a := insts[0]
	waitStatus(t, "three instances listed", func() int { return len(listInstances(t, a.cl)) }, 3)
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, a.cl, "project", "create", "--name", "Merged", "-o", "json")), &p)
	key := strings.TrimSpace(cli(t, a.cl, "key", "create", "--project", p.ID, "-q"))
	perInstance := map[string]int{}
	for i, inst := range insts {
		for range 4 + i {
			waitStatus(t, "an encrypt", func() int { return encryptOn(t, inst, key).StatusCode }, 200)
		}
	}
	ids := listInstances(t, a.cl)
	// 4, 5 and 6 requests, plus project.created and key.created on A.
	total := 4 + 5 + 6 + 2
	page := func(cursor string, limit int) wire.EventPage {
		path := fmt.Sprintf("/admin/v1/projects/%s/events?limit=%d", p.ID, limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, body := etcdAdminDo(t, "GET", insts[1].proc.AdminAddr, token, path, "")
		var pg wire.EventPage
		if err := json.Unmarshal([]byte(body), &pg); status != 200 || err != nil {
			t.Fatalf("GET %s = %d %s", path, status, body)
		}
		return pg
	}
	waitStatus(t, "every event written", func() int { return len(page("", 100).Items) }, total)
	var all []wire.Event
	for cursor, n := "", 0; ; n++ {
		if n > total {
			t.Fatal("paging does not end")
		}
		pg := page(cursor, 4)
		if len(pg.Unreachable) > 0 {
			t.Fatalf("unreachable %v with every instance up", pg.Unreachable)
		}
		all = append(all, pg.Items...)
		if pg.NextCursor == nil {
			break
		}
		cursor = *pg.NextCursor
	}
	seen := map[string]bool{}
	for i, e := range all {
		perInstance[e.InstanceID]++
		if seen[e.InstanceID+"/"+e.ID] {
			t.Errorf("event %s of %s listed twice", e.ID, e.InstanceID)
		}
		seen[e.InstanceID+"/"+e.ID] = true
		if i > 0 && e.Time.After(all[i-1].Time) {
			t.Errorf("event %d (%s) is newer than the one before it: want newest first", i, e.Time)
		}
	}
	if len(all) != total || len(perInstance) != 3 {
		t.Errorf("paged through %d events of %d instances (%v), want %d of 3", len(all), len(perInstance), perInstance, total)
	}
	for _, in := range ids {
		if perInstance[in.ID] == 0 {
			t.Errorf("no events of instance %s in the merged list", in.ID)
		}
	}

	out := cli(t, a.cl, "events", "verify", "--all")
	if n := strings.Count(out, ": intact,"); n != 3 {
		t.Errorf("sdproxy events verify --all = %q, want 3 intact instances", out)
	}

	// C stops answering (its lease has not expired yet): the list comes
	// without C's events, naming it.
	c := insts[2]
	if err := c.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pg := page("", 100)
	c.proc.Signal(syscall.SIGCONT)
	took := time.Since(start)
	cID := ""
	for _, in := range ids {
		if in.AdminAddress == "http://"+c.proc.AdminAddr {
			cID = in.ID
		}
	}
	if len(pg.Unreachable) != 1 || pg.Unreachable[0] != cID || len(pg.Items) != total-6 {
		t.Errorf("with C stopped: %d events, unreachable %v; want %d and [%s]", len(pg.Items), pg.Unreachable, total-6, cID)
	}
	if took > 5*time.Second {
		t.Errorf("the list with C stopped took %s, want about 2 s", took)
	}
}
