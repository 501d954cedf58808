package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// stopAt is a start-up context that is done from its nth Err on (and its
// Done closed then): a signal that arrives during the step before the
// nth check.
type stopAt struct {
	context.Context
	left atomic.Int32
	once sync.Once
	done chan struct{}
}

func newStopAt(n int32) *stopAt {
	c := &stopAt{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(n)
	return c
}

func (c *stopAt) Err() error {
	if c.left.Add(-1) > 0 {
		return nil
	}
	c.once.Do(func() { close(c.done) })
	return context.Canceled
}

func (c *stopAt) Done() <-chan struct{} { return c.done }

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStopWhileStarting stops serve's start-up after each of its steps,
// as a SIGTERM or an interrupt that arrives during it does: newServer
// returns errStoppedStarting, and everything it had opened is closed — a
// second start on the same data directory and addresses succeeds, which
// it could not while the store's or the event log's lock, or a
// listener, was held.
func TestStopWhileStarting(t *testing.T) {
	for n, after := range []string{"opening the store", "opening the event log", "registering the instance", "listening"} {
		t.Run(after, func(t *testing.T) {
			env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), freeAddr(t), freeAddr(t)
			stop := newStopAt(int32(n + 1))
			srv, err := newServer(stop, cfg, env.get, io.Discard, io.Discard)
			if !errors.Is(err, errStoppedStarting) {
				if err == nil {
					srv.closeOpened()
				}
				t.Fatalf("newServer stopped after %s = %v, want errStoppedStarting", after, err)
			}
			if stop.left.Load() > 0 {
				t.Fatalf("start-up checked for a stop %d times fewer than expected", stop.left.Load())
			}
			again, err := newServer(context.Background(), cfg, env.get, io.Discard, io.Discard)
			if err != nil {
				t.Fatalf("starting again after a stop after %s: %v (something was left open)", after, err)
			}
			if err := again.closeOpened(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
