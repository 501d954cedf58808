package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// file opened for appending (0600).
func openSink(spec string, stdout io.Writer) (io.Writer, io.Closer, error) {
	switch spec {
	case "":
		return nil, nil, nil
	case "stdout":
		return stdout, nil, nil
	}
	f, err := os.OpenFile(spec, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("events sink: %w", err)
	}
	return f, f, nil
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
