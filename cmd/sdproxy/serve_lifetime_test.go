package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestShutdownKeepsExpiryEvent stops serve while a key.expired event is
// being recorded: the store has already saved its expiry checkpoint, so
// the event would be lost for good if the event log closed first. Serve
// joins its background workers before closing the log; the event must be
// there after the restart.
func TestShutdownKeepsExpiryEvent(t *testing.T) {
	dir := t.TempDir()
	env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.AdminListen = dir, "127.0.0.1:0", "127.0.0.1:0"
	srv, err := newServer(context.Background(), cfg, env.get, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("newServer = %v", err)
	}
	name := "lifetime"
	p, err := srv.store.CreateProject(keystore.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(20 * time.Millisecond)
	k, err := srv.store.CreateKey(p.ID, keystore.KeyInput{ExpiresAt: &expires})
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(expires) {
		time.Sleep(5 * time.Millisecond)
	}

	reached, release := make(chan struct{}), make(chan struct{})
	srv.expiryEvery = 5 * time.Millisecond
	srv.onExpired = func() {
		close(reached)
		<-release
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the expiry watcher did not take the expired key within 10s")
	}
	cancel() // shut down while the event is about to be recorded
	select {
	case err := <-stopped:
		close(release)
		t.Fatalf("Run returned (%v) while a worker was still recording: the event log was closed under it", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}

	master, _, err := loadMasterKeyNoCreate(cfg, env.get)
	if err != nil {
		t.Fatal(err)
	}
	l, err := events.Open(dir, events.Options{MasterKey: master, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	list, _, err := l.Query(events.Filter{ProjectID: p.ID, Type: events.TypeKeyExpired, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].KeyID == nil || *list[0].KeyID != k.ID {
		t.Errorf("key.expired events after the restart = %+v, want one for %s", list, k.ID)
	}
}
