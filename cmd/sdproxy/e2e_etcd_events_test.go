package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
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

	// Following the merged list, by the API and by `sdproxy events
	// --follow`: events recorded on A and on C after the follow began are
	// each listed once.
	idOf := map[string]string{}
	for _, in := range ids {
		idOf[in.AdminAddress] = in.ID
	}
	aID, cID := idOf["http://"+a.proc.AdminAddr], idOf["http://"+insts[2].proc.AdminAddr]
	first := page("", 5)
	if first.FollowCursor == nil {
		t.Fatalf("merged first page without a follow_cursor: %+v", first)
	}
	follow := &lockedBuffer{}
	fcmd := exec.Command(e2e.Binary(t), "events", "--project", p.ID, "--limit", "1", "--follow", "--interval", "200ms", "-o", "json")
	fcmd.Env = e2e.Environ(insts[1].cl)
	fcmd.Stdout, fcmd.Stderr = follow, follow
	if err := fcmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fcmd.Process.Kill(); fcmd.Wait() }()
	time.Sleep(time.Second) // its first page and first follow cursor
	for _, inst := range []*etcdInstance{a, a, insts[2]} {
		waitStatus(t, "an encrypt", func() int { return encryptOn(t, inst, key).StatusCode }, 200)
	}
	followed := map[string]int{}
	after := *first.FollowCursor
	poll := func() {
		path := fmt.Sprintf("/admin/v1/projects/%s/events?limit=100&after=%s", p.ID, after)
		status, body := etcdAdminDo(t, "GET", insts[1].proc.AdminAddr, token, path, "")
		var pg wire.EventPage
		if err := json.Unmarshal([]byte(body), &pg); status != 200 || err != nil || pg.FollowCursor == nil {
			t.Fatalf("GET %s = %d %s, want 200 with a follow_cursor", path, status, body)
		}
		for _, e := range pg.Items {
			followed[e.InstanceID+"/"+e.ID]++
		}
		after = *pg.FollowCursor
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(followed) < 3 && time.Now().Before(deadline) {
		poll()
		time.Sleep(100 * time.Millisecond)
	}
	poll() // nothing new: lists none again
	newOn := map[string]int{}
	for k, n := range followed {
		if n != 1 || seen[k] {
			t.Errorf("follow listed %s %d times (listed before the follow: %v), want once and new", k, n, seen[k])
		}
		newOn[strings.Split(k, "/")[0]]++
	}
	if len(followed) != 3 || newOn[aID] != 2 || newOn[cID] != 1 {
		t.Errorf("follow by the API listed %v, want 2 new events of A (%s) and 1 of C (%s)", followed, aID, cID)
	}
	cliNew := map[string]int{}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		clear(cliNew)
		for line := range strings.Lines(follow.String()) {
			var e wire.Event
			if json.Unmarshal([]byte(line), &e) == nil && e.ID != "" && !seen[e.InstanceID+"/"+e.ID] {
				cliNew[e.InstanceID+"/"+e.ID]++
			}
		}
		if len(cliNew) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	for k, n := range cliNew {
		if n != 1 || followed[k] != 1 {
			t.Errorf("sdproxy events --follow printed %s %d times, want once and one of the new events %v", k, n, followed)
		}
	}
	if len(cliNew) != 3 {
		t.Errorf("sdproxy events --follow printed new events %v, want the 3 of %v; output:\n%s", cliNew, followed, follow.String())
	}
	fcmd.Process.Kill()
	fcmd.Wait()
	total += 3

	// C stops answering (its lease has not expired yet): the list comes
	// without C's events, naming it.
	c := insts[2]
	c.proc.Pause(t)
	start := time.Now()
	pg := page("", 100)
	c.proc.Signal(syscall.SIGCONT)
	took := time.Since(start)
	if len(pg.Unreachable) != 1 || pg.Unreachable[0] != cID || len(pg.Items) != total-7 {
		t.Errorf("with C stopped: %d events, unreachable %v; want %d and [%s]", len(pg.Items), pg.Unreachable, total-7, cID)
	}
	if took > 5*time.Second {
		t.Errorf("the list with C stopped took %s, want about 2 s", took)
	}
}

// lockedBuffer is a bytes.Buffer a running process writes to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
