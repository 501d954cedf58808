package events

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pruneBatch bounds the deletions of one transaction.
const pruneBatch = 10_000

// Prune applies retention:
//
//  1. entries older than MaxAge are deleted from the start of the chain,
//     whatever their type;
//  2. while more than MaxCount entries are stored, failures (request
//     events with status 401 and TypeAuthFailed summaries) are deleted,
//     oldest first, wherever they are; a signed record of each run of
//     deleted failures keeps the chain verifiable (see run);
//  3. only when no failure is left and still more than MaxCount entries
//     are stored, the oldest entries are deleted from the start.
//
// So a flood of failed requests never pushes admin events or
// authenticated requests out. Deletions from the start move the chain's
// anchor past them. Retention deletes only entries that verify, in
// chain order: it stops with an error at a changed entry, leaving it for
// Verify to name.
func (l *Log) Prune() error {
	for {
		n, err := l.pruneOnce()
		if err != nil {
			return fmt.Errorf("events.Prune: %w", err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

// pruner is one retention transaction.
type pruner struct {
	l                *Log
	evb, idx, fb, pb *bolt.Bucket
	h                head
	a                anchor // where the chain starts
	moved            bool   // a changed
	deleted          int
}

func (l *Log) pruneOnce() (int, error) {
	cutoff := l.opts.Now().Add(-l.opts.MaxAge)
	deleted := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		h, err := l.loadHead(meta)
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		a, _, ok := l.chainStart(tx)
		if !ok {
			return fmt.Errorf("the pruning anchor was changed")
		}
		p := &pruner{l: l, h: h, a: a, evb: tx.Bucket(bucketEvents), idx: tx.Bucket(bucketByProject),
			fb: tx.Bucket(bucketFailures), pb: tx.Bucket(bucketPruned)}
		err = p.front(func(en stored) bool {
			t, err := time.Parse(time.RFC3339Nano, en.ev.Time)
			return err == nil && t.Before(cutoff)
		})
		if err == nil {
			err = p.failures()
		}
		if err == nil {
			err = p.front(func(stored) bool { return p.h.Live > l.opts.MaxCount && p.h.Failures == 0 })
		}
		if err != nil || p.deleted == 0 {
			return err
		}
		deleted = p.deleted
		return p.finish(meta)
	})
	return deleted, err
}

// front deletes entries from the start of the chain while prune says so,
// and folds runs of pruned failures there into the anchor.
func (p *pruner) front(prune func(stored) bool) error {
	for p.deleted < pruneBatch {
		ek, ev := p.evb.Cursor().First()
		if rk, rv := p.pb.Cursor().First(); rk != nil && (ek == nil || string(rk) < string(ek)) {
			r, ok := p.l.readRun(rk, rv)
			if !ok || r.From != p.a.Seq || r.Prev != p.a.Prev {
				return fmt.Errorf("pruned record at evt_%d does not verify; retention stopped", binary.BigEndian.Uint64(rk))
			}
			if err := p.pb.Delete(rk); err != nil {
				return err
			}
			p.a, p.moved = anchor{Seq: r.To + 1, Prev: r.MAC}, true
			p.deleted++
			continue
		}
		if ek == nil {
			return nil
		}
		en, reason := readEntry(ek, ev)
		if reason == "" && (en.Seq != p.a.Seq || en.Prev != p.a.Prev || !p.l.macOK(en)) {
			reason = "entry does not verify"
		}
		if reason != "" {
			return fmt.Errorf("%s: %s; retention stopped", en.id, reason)
		}
		if !prune(en) {
			return nil
		}
		if err := p.delete(en); err != nil {
			return err
		}
		p.a, p.moved = anchor{Seq: en.Seq + 1, Prev: en.MAC}, true
	}
	return nil
}

// failures deletes failures, oldest first, while over MaxCount.
func (p *pruner) failures() error {
	for p.h.Live > p.l.opts.MaxCount && p.h.Failures > 0 && p.deleted < pruneBatch {
		k, _ := p.fb.Cursor().First()
		if k == nil {
			return fmt.Errorf("the failure index lists fewer entries than the head counts (%d); retention stopped", p.h.Failures)
		}
		key := append([]byte(nil), k...)
		if err := p.fb.Delete(key); err != nil {
			return err
		}
		v := p.evb.Get(key)
		if v == nil || binary.BigEndian.Uint64(key) < p.a.Seq {
			continue // an index key left behind: nothing to delete
		}
		en, reason := readEntry(key, v)
		if reason == "" && !p.l.macOK(en) {
			reason = "entry does not verify"
		}
		if reason != "" {
			return fmt.Errorf("%s: %s; retention stopped", en.id, reason)
		}
		if !en.failure() {
			continue // the index named a kept entry: only the index key goes
		}
		if err := p.delete(en); err != nil {
			return err
		}
		if err := p.l.addRun(p.pb, en); err != nil {
			return err
		}
	}
	return nil
}

// delete removes a verified entry and its index keys and counts it.
func (p *pruner) delete(en stored) error {
	key := seqKey(en.Seq)
	if err := p.evb.Delete(key); err != nil {
		return err
	}
	if err := p.idx.Delete(projectKey(en.ev.Project, en.Seq)); err != nil {
		return err
	}
	if en.failure() {
		if err := p.fb.Delete(key); err != nil {
			return err
		}
		p.h.Failures--
	}
	p.h.Live--
	p.deleted++
	return nil
}

// finish stores the moved anchor and the head with its new counts.
func (p *pruner) finish(meta *bolt.Bucket) error {
	if p.moved {
		p.a.V = 2
		p.a.MAC = p.l.anchorMAC(p.a.Seq, p.a.Prev, p.a.V)
		b, _ := json.Marshal(p.a)
		if err := meta.Put(metaAnchor, b); err != nil {
			return err
		}
	}
	return p.l.putHead(meta, p.h)
}
