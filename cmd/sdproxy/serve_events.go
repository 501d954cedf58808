package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/metrics"
)

// openEvents builds the metrics, then the event log (and its sink) that
// reports to them.
func (s *server) openEvents(master []byte, stdout io.Writer) error {
	sink, closer, err := openSink(s.cfg.Events.Sink, stdout)
	if err != nil {
		return err
	}
	m := metrics.New()
	log, err := events.Open(s.cfg.DataDir, events.Options{
		MasterKey:   master,
		InstanceID:  s.instanceID,
		MaxAge:      s.cfg.Events.MaxAge,
		MaxCount:    s.cfg.Events.MaxCount,
		LockTimeout: lockWait,
		BatchDelay:  s.cfg.Events.FlushInterval,
		Sink:        sink,
		Logger:      s.log,
		OnWrite:     m.ObserveRequest,
	})
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		if errors.Is(err, events.ErrLocked) {
			return errors.New("event log is locked by another sdproxy process (only one may use a data directory)")
		}
		if errors.Is(err, events.ErrDamaged) {
			return fmt.Errorf("the event log %s was altered or damaged; refusing to write to it (run sdproxy events verify, and keep the file as evidence): %w", filepath.Join(s.cfg.DataDir, events.FileName), err)
		}
		return err
	}
	m.WatchQueue(log)
	s.events, s.metrics, s.sink = log, m, closer
	return nil
}

// openSink returns the writer of the JSON-lines sink: none, stdout, or a
// file opened for appending (0600), a *sinkFile.
func openSink(spec string, stdout io.Writer) (io.Writer, io.Closer, error) {
	switch spec {
	case "":
		return nil, nil, nil
	case "stdout":
		return stdout, nil, nil
	}
	f := &sinkFile{path: spec}
	if err := f.Reopen(); err != nil {
		return nil, nil, fmt.Errorf("events sink: %w", err)
	}
	return f, f, nil
}

// sinkFile is the events sink's file. Reopen (on SIGHUP) opens the path
// again, so that the usual log rotation works: logrotate moves the file
// aside and signals, and the lines written after the signal go to a new
// file at the path, where log shippers and events verify
// --checkpoint-file look, rather than on into the moved one.
type sinkFile struct {
	path string
	f    atomic.Pointer[os.File]
}

// Reopen opens the path (creating it 0600) and writes there from now on;
// a file that cannot be opened keeps the one written before.
func (s *sinkFile) Reopen() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if old := s.f.Swap(f); old != nil {
		old.Close() // a write still on it finishes first
	}
	return nil
}

func (s *sinkFile) Write(p []byte) (int, error) {
	f := s.f.Load()
	n, err := f.Write(p)
	if g := s.f.Load(); n == 0 && errors.Is(err, os.ErrClosed) && g != f {
		return g.Write(p) // Reopen closed f as the write began
	}
	return n, err
}

func (s *sinkFile) Close() error { return s.f.Load().Close() }

// reopenSinkOnHUP reopens the sink file on a value from hup, and passes
// the value on to certs (the certificates' reload), until ctx ends.
func (s *server) reopenSinkOnHUP(ctx context.Context, hup <-chan os.Signal, certs chan<- os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-hup:
			if f, ok := s.sink.(*sinkFile); ok {
				if err := f.Reopen(); err != nil {
					s.log.Error("events sink reopen failed: still writing to the file opened before", "file", f.path, "reason", "SIGHUP", "err", err)
				} else {
					s.log.Info("events sink reopened", "file", f.path, "reason", "SIGHUP")
				}
			}
			select {
			case certs <- sig:
			default:
			}
		}
	}
}

// watchExpiry records a key.expired event for every key that expires,
// checking every interval until ctx ends.
func (s *server) watchExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.reportExpired()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *server) reportExpired() {
	keys, err := s.store.TakeExpired()
	if err != nil {
		s.log.Error("expiry check", "err", err)
		return
	}
	if len(keys) > 0 && s.onExpired != nil {
		s.onExpired()
	}
	for _, k := range keys {
		id := k.ID
		s.events.Record(events.Event{
			Type: events.TypeKeyExpired, Time: k.ExpiresAt.UTC(), ProjectID: k.ProjectID, KeyID: &id, Actor: "sdproxy",
		})
	}
}
