package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2EVerifyCheckpoint: an event log put back to an older copy verifies
// on its own (its head is signed and consistent), but not against the
// signed checkpoint that serve wrote to the events sink at its last stop.
func TestE2EVerifyCheckpoint(t *testing.T) {
	dataDir := t.TempDir()
	sink := filepath.Join(t.TempDir(), "events.jsonl")
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	env[config.EnvEventsSink] = sink
	cl := map[string]string{config.EnvDataDir: dataDir, config.EnvMasterKey: env[config.EnvMasterKey]}

	srv := e2e.Start(t, env)
	cl[config.EnvAdminAddr] = "http://" + srv.AdminAddr
	cli(t, cl, "project", "create", "--name", "first")
	srv.Stop(t)
	old, err := os.ReadFile(filepath.Join(dataDir, events.FileName))
	if err != nil {
		t.Fatal(err)
	}

	srv = e2e.Start(t, env)
	cl[config.EnvAdminAddr] = "http://" + srv.AdminAddr
	cli(t, cl, "project", "create", "--name", "second")
	cli(t, cl, "project", "create", "--name", "third")
	// Online, while serve holds the file, with the sink's last checkpoint.
	if out := cli(t, cl, "events", "verify", "--checkpoint-file", sink); !strings.Contains(out, "intact") {
		t.Errorf("events verify (online) = %q, want intact", out)
	}
	// Online, a log that does not reach --min-seq: verify names the entry
	// as it does offline (the server's 409 is its result, not an error).
	stdout, stderr, code := e2e.Run(t, 30*time.Second, cl, "events", "verify", "--min-seq", "100000")
	if code != 1 || !strings.Contains(stderr, "event log broken at evt_100000: entries missing at the end") {
		t.Errorf("events verify --min-seq 100000 (online) = exit %d, stdout %q, stderr %q; want exit 1 naming evt_100000", code, stdout, stderr)
	}
	stdout, stderr, code = e2e.Run(t, 30*time.Second, cl, "events", "verify", "--min-seq", "100000", "--output", "json")
	if code != 1 || !strings.Contains(stdout, `"ok": false`) || !strings.Contains(stdout, `"id": "evt_100000"`) {
		t.Errorf("events verify --min-seq 100000 --output json (online) = exit %d, stdout %q, stderr %q; want exit 1 and the result", code, stdout, stderr)
	}
	srv.Stop(t)
	if out := cli(t, cl, "events", "verify", "--checkpoint-file", sink); !strings.Contains(out, "intact") {
		t.Errorf("events verify --checkpoint-file (offline) = %q, want intact", out)
	}

	// Put the older copy back: the newer entries are gone.
	if err := os.WriteFile(filepath.Join(dataDir, events.FileName), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli(t, cl, "events", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("events verify without evidence = %q, want intact (a consistent older copy)", out)
	}
	stdout, stderr, code = e2e.Run(t, 30*time.Second, cl, "events", "verify", "--checkpoint-file", sink)
	if code != 1 || !strings.Contains(stderr, "event log broken") {
		t.Errorf("events verify --checkpoint-file after a rollback = exit %d, stdout %q, stderr %q; want exit 1 naming the break", code, stdout, stderr)
	}
	forged := `{"type":"checkpoint","seq":1,"mac":"` + strings.Repeat("00", 32) + `","time":"2026-01-01T00:00:00Z","sig":"` + strings.Repeat("11", 32) + `"}`
	_, stderr, code = e2e.Run(t, 30*time.Second, cl, "events", "verify", "--checkpoint", forged)
	if code != 1 || !strings.Contains(stderr, "signature") {
		t.Errorf("events verify with a forged checkpoint = exit %d, stderr %q; want exit 1 saying the signature does not verify", code, stderr)
	}
}
