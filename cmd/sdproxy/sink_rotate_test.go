package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestSinkFileReopenedOnSIGHUP: logrotate's usual rotation moves the
// events sink file aside and signals the server (postrotate kill -HUP);
// the lines written after the signal (here the checkpoint of the stop)
// must go to a new file at the configured path, where the log shipper and
// sdproxy events verify --checkpoint-file look, not on into the moved
// file, which logrotate compresses and deletes in the end.
func TestSinkFileReopenedOnSIGHUP(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	sink := filepath.Join(t.TempDir(), "events.jsonl")
	cfg.Events.Sink = sink
	env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
	srv, err := newServer(context.Background(), cfg, env.get, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal)
	srv.hup = hup
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	if err := os.Rename(sink, sink+".1"); err != nil {
		t.Fatal(err)
	}
	select {
	case hup <- syscall.SIGHUP:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP not taken")
	}
	select { // taken once the first is handled
	case hup <- syscall.SIGHUP:
	case <-time.After(5 * time.Second):
		t.Fatal("second SIGHUP not taken")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sink)
	if err != nil || !strings.Contains(string(b), `"type":"checkpoint"`) {
		old, _ := os.ReadFile(sink + ".1")
		t.Errorf("after the sink file was moved aside and SIGHUP: %s holds %q (%v); want the stop's checkpoint there, not in the moved file (%q)", sink, b, err, old)
	}
}
