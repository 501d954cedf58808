//go:build faults

package faults

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size (e.g. "16m") on a fresh directory and
// unmounts it when the test ends. The suite runs as root; a mount that
// fails fails the test: the fault would not be produced.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs -o size=%s tmpfs %s: %v %s: the disk-full fault needs root (or CAP_SYS_ADMIN) to mount a small tmpfs", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v, want ENOSPC in the end", path, err)
				}
				break
			}
		}
	}
}

// TestDiskFull: serve's data directory is on a 16 MiB tmpfs, which is
// then filled up. Key creates must either answer 201 for a key that is
// then stored, or 503 with a message that says the disk is full — at
// least one of them must meet the full disk; encrypts with a key whose
// seals are reserved go on. Once the filler is removed, creates succeed
// again without a restart, the event log takes events again, holds the
// creation event of every key answered 201 and verifies, and after a
// graceful stop and a restart every key answered as
// created is there.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "16m")
	n := newNode(t, filepath.Join(mnt, "data"), baseConfig)
	n.start(t)
	project := n.createProject(t, "")
	key := n.createKey(t, project)
	c := client(2)
	if st, err := n.encrypt(c, key.Key); err != nil || st != 200 {
		t.Fatalf("encrypt before the disk is full = %d %v", st, err)
	}
	time.Sleep(300 * time.Millisecond) // the event writer's flush
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)

	answered := map[string]string{key.ID: key.Key}
	full, other := 0, 0
	for i := range 40 {
		st, b, err := n.admin("POST", "/admin/v1/projects/"+project+"/keys", "{}")
		var k apiKey
		json.Unmarshal(b, &k)
		switch {
		case err == nil && st == 201 && k.Key != "":
			answered[k.ID] = k.Key
		case err == nil && st == 503 && strings.Contains(strings.ToLower(string(b)), "full"):
			full++
			if full == 1 {
				t.Logf("create #%d on a full disk: %d %s", i, st, b)
			}
		default:
			other++
			t.Errorf("create a key on a full disk = %d %s %v, want 201 or 503 saying the disk is full", st, b, err)
		}
	}
	encOK := 0
	for range 20 {
		if st, err := n.encrypt(c, key.Key); err == nil && st == 200 {
			encOK++
		}
	}
	// Enough requests that their events need new pages of events.db,
	// which the full disk refuses: the event log's writes fail, and what
	// they hold is kept to be written once space is freed.
	answeredRequests := 1 + 20 // the encrypt before and the 20 above
	for range 3000 {
		if _, err := n.encrypt(c, key.Key); err == nil {
			answeredRequests++
		}
	}
	t.Logf("full disk: %d creates answered 201, %d answered 503 (full), %d otherwise; %d/20 encrypts answered 200", len(answered)-1, full, other, encOK)
	if full == 0 {
		t.Errorf("no key create met the full disk (all %d answered 201): the fault was not produced", len(answered)-1)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var recovered apiKey
	for {
		st, b, err := n.admin("POST", "/admin/v1/projects/"+project+"/keys", "{}")
		if err == nil && st == 201 && json.Unmarshal(b, &recovered) == nil {
			answered[recovered.ID] = recovered.Key
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after space was freed a key create = %d %s %v, want 201 without a restart", st, b, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		st, b, err := n.admin("GET", "/admin/v1/projects/"+project+"/events?type=key.created&key_id="+recovered.ID, "")
		if err == nil && st == 200 && strings.Contains(string(b), recovered.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event log after space was freed: the create of %s is not listed (%d %s %v), want it recorded without a restart", recovered.ID, st, b, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.verifyOnline(t)
	checkKeys := func(when string) {
		stored := n.keys(t, project)
		for id, secret := range answered {
			if st, err := n.encrypt(c, secret); stored[id].Status != "active" || err != nil || st != 200 {
				t.Errorf("%s: key %s answered 201 is %q, encrypt = %d %v; want active and 200", when, id, stored[id].Status, st, err)
			}
		}
	}
	checkKeys("after space was freed")
	if !strings.Contains(n.Log(t), "event log write failed: events kept in the queue") {
		t.Errorf("no event log write met the full disk: the fault was not produced")
	}
	for {
		got := n.countEvents(t, project, "type=request&key_id="+key.ID)
		if got == answeredRequests {
			break
		}
		if got > answeredRequests || time.Now().After(deadline) {
			t.Fatalf("request events of the key after space was freed: %d, want one per request answered, %d", got, answeredRequests)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every key answered 201 has its key.created event, those created
	// while the event log could not write included: a failed write keeps
	// its events queued and writes them once space is freed.
	for id := range answered {
		for {
			st, b, err := n.admin("GET", "/admin/v1/projects/"+project+"/events?type=key.created&key_id="+id, "")
			if err == nil && st == 200 && strings.Contains(string(b), id) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("key %s answered 201 on a full disk: its key.created event is not in the log after space was freed (%d %s %v)", id, st, b, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	n.Stop(t)
	n.verifyStopped(t)
	n.start(t)
	checkKeys("after a restart")
	n.noPanic(t)
}
