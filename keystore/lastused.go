package keystore

import (
	"context"
	"fmt"
	"time"
)

// FlushLastUsed writes every "last used" time that changed in memory since
// the previous flush, in one transaction (on etcd, in transactions of at
// most maxWrites keys). A stored time never moves back.
func (s *Store) FlushLastUsed() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	todo := s.cache.unflushed()
	for len(todo) > 0 {
		batch := todo
		if s.maxWrites > 0 && len(batch) > s.maxWrites {
			batch = batch[:s.maxWrites]
		}
		todo = todo[len(batch):]
		if err := s.flushLocked(batch); err != nil {
			return fmt.Errorf("keystore.FlushLastUsed: %w", err)
		}
	}
	return nil
}

// flushLocked writes the "last used" times of todo; the caller holds
// s.writeMu.
func (s *Store) flushLocked(todo []dirtyUsage) error {
	return s.updateLocked(func(tx kvTx) error {
		b := tx.Bucket(bucketKeys)
		for _, d := range todo {
			var rec keyRecord
			if err := getJSON(b, d.id, &rec, ErrKeyNotFound); err != nil {
				continue // deleted since
			}
			t := time.Unix(0, d.at).UTC()
			if rec.LastUsedAt != nil && !t.After(*rec.LastUsedAt) {
				continue
			}
			rec.LastUsedAt = &t
			if err := putJSON(b, d.id, &rec); err != nil {
				return err
			}
		}
		return nil
	}, func() {
		for _, d := range todo {
			d.u.flushed.Store(d.at)
		}
	})
}

// dirtyUsage is one "last used" time not yet written to the store.
type dirtyUsage struct {
	id string
	u  *usage
	at int64
}

// unflushed returns the "last used" times of keys used since their last
// flush.
func (c *authCache) unflushed() []dirtyUsage {
	var out []dirtyUsage
	c.mu.RLock()
	defer c.mu.RUnlock()
	for id, u := range c.usage {
		if at := u.last.Load(); at > u.flushed.Load() {
			out = append(out, dirtyUsage{id, u, at})
		}
	}
	return out
}

// RunFlusher calls FlushLastUsed every interval until ctx ends, reporting
// failures to onErr (which may be nil).
func (s *Store) RunFlusher(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.FlushLastUsed(); err != nil && onErr != nil {
				onErr(err)
			}
			if err := s.FlushSubjectCounts(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
