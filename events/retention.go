package events

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
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
	l.mu.Lock()
	running := !l.closed
	l.mu.Unlock()
	if running {
		reply := make(chan error, 1)
		select {
		case l.pruneReq <- reply:
			return <-reply
		case <-l.done:
		}
	}
	// Closed: once the writer has ended (Close marks the log closed
	// before the writer drains), prune here, one caller at a time.
	<-l.done
	l.pruneMu.Lock()
	defer l.pruneMu.Unlock()
	return l.prune()
}

// prune is Prune in the writer (or with no writer running). It first
// closes the writer's open block: retention may rewrite it.
func (l *Log) prune() error {
	l.blk.close()
	l.blk.committed() // outside a transaction: nothing holds its buffer
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
	l       *Log
	tx      *bolt.Tx
	pb      *bolt.Bucket
	h       head
	a       anchor // where the chain starts
	moved   bool   // a changed
	deleted int
	dead    []uint64 // blocks whose entries are all before a
	runs    [][]byte // keys of runs of pruned entries folded into a
	legacy  []stored // entries before a in the legacy buckets
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
		p := &pruner{l: l, tx: tx, h: h, a: a, pb: tx.Bucket(bucketPruned)}
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

// front moves the start of the chain past entries while prune says so,
// and past runs of pruned failures there, then deletes what it passed:
// blocks all of whose entries are before the start, the runs, entries
// in legacy buckets. Entries before the start in its first block stay
// until the rest of the block is passed too (Verify and Query skip
// them).
func (p *pruner) front(prune func(stored) bool) error {
	defer p.sweep()
	it := newEntryIter(p.tx)
	seq, v, blk, last, ok := it.next()
	for ok && seq < p.a.Seq {
		if last {
			p.dead = append(p.dead, blk)
		}
		seq, v, blk, last, ok = it.next()
	}
	rc := p.pb.Cursor()
	rk, rv := rc.First()
	for p.deleted < pruneBatch {
		if rk != nil && (!ok || runSeq(rk) < seq) {
			r, good := p.l.readRun(rk, rv)
			if !good || r.From != p.a.Seq || r.Prev != p.a.Prev {
				return fmt.Errorf("pruned record at evt_%d does not verify; retention stopped", runSeq(rk))
			}
			p.runs = append(p.runs, append([]byte(nil), rk...))
			p.a, p.moved = anchor{Seq: r.To + 1, Prev: r.MAC}, true
			p.deleted++
			rk, rv = rc.Next()
			continue
		}
		if !ok {
			return nil
		}
		en, reason := readEntry(seq, v)
		if reason == "" && (en.Seq != p.a.Seq || en.Prev != p.a.Prev || !p.l.macOK(en)) {
			reason = "entry does not verify"
		}
		if reason != "" {
			return fmt.Errorf("%s: %s; retention stopped", en.id, reason)
		}
		if !prune(en) {
			return nil
		}
		p.count(en)
		p.a, p.moved = anchor{Seq: en.Seq + 1, Prev: en.MAC}, true
		switch {
		case blk == 0:
			p.legacy = append(p.legacy, en)
		case last:
			p.dead = append(p.dead, blk)
		}
		seq, v, blk, last, ok = it.next()
	}
	return nil
}

// sweep deletes what front passed.
func (p *pruner) sweep() {
	for _, id := range p.dead {
		p.deleteBlock(id)
	}
	for _, k := range p.runs {
		p.pb.Delete(k)
	}
	for _, en := range p.legacy {
		k := seqKey(en.Seq)
		p.tx.Bucket(bucketEvents).Delete(k)
		p.tx.Bucket(bucketByProject).Delete(projectKey(en.ev.Project, en.Seq))
		if fb := p.tx.Bucket(bucketFailures); fb != nil {
			fb.Delete(k)
		}
	}
	p.dead, p.runs, p.legacy = p.dead[:0], p.runs[:0], p.legacy[:0]
}

// deleteBlock deletes a block, its index values and failure list.
func (p *pruner) deleteBlock(id uint64) error {
	key := seqKey(id)
	keys := p.tx.Bucket(bucketBlockKeys).Get(key)
	for len(keys) > 0 {
		fam := keys[0]
		n, m := binary.Uvarint(keys[1:])
		if m <= 0 || uint64(len(keys)-1-m) < n {
			break
		}
		k := keys[1+m : 1+m+int(n)]
		keys = keys[1+m+int(n):]
		if err := p.tx.Bucket(famBucket(fam)).Delete(k); err != nil {
			return err
		}
	}
	for _, b := range [][]byte{bucketBlockKeys, bucketFailBlocks} {
		if err := p.tx.Bucket(b).Delete(key); err != nil {
			return err
		}
	}
	if err := p.tx.Bucket(bucketBlocks).DeleteBucket(key); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// failures deletes failures, oldest first, while over MaxCount: it
// rewrites the blocks that hold them without them.
func (p *pruner) failures() error {
	fbb := p.tx.Bucket(bucketFailBlocks)
	for p.h.Live > p.l.opts.MaxCount && p.h.Failures > 0 && p.deleted < pruneBatch {
		k, v := fbb.Cursor().First()
		if k == nil {
			if done, err := p.legacyFailure(); done || err != nil {
				return err
			}
			continue
		}
		id, ok := keySeq(k)
		if !ok {
			return fmt.Errorf("the failure list of block %q does not read; retention stopped", k)
		}
		key := append([]byte(nil), k...)
		var seqs []uint64
		for len(v) > 0 {
			d, n := binary.Uvarint(v)
			if n <= 0 {
				break
			}
			seqs, v = append(seqs, id+d), v[n:]
		}
		slices.Sort(seqs)
		if err := p.pruneBlockFailures(key, seqs); err != nil {
			return err
		}
	}
	return nil
}

// pruneBlockFailures deletes the failures seqs of block key (those still
// there and still before MaxCount is met) and stores what is left of the
// block and of its failure list.
func (p *pruner) pruneBlockFailures(key []byte, seqs []uint64) error {
	blocks := p.tx.Bucket(bucketBlocks)
	block := append([]byte(nil), readBlock(blocks, key)...)
	gone := map[uint64]bool{}
	left := seqs[:0:0]
	for _, seq := range seqs {
		if seq < p.a.Seq {
			continue // pruned from the front already
		}
		if p.h.Live <= p.l.opts.MaxCount || p.h.Failures == 0 || p.deleted >= pruneBatch {
			left = append(left, seq)
			continue
		}
		v := findLine(block, seq)
		if v == nil {
			continue // a list entry left behind: nothing to delete
		}
		en, reason := readEntry(seq, v)
		if reason == "" && !p.l.macOK(en) {
			reason = "entry does not verify"
		}
		if reason != "" {
			return fmt.Errorf("%s: %s; retention stopped", en.id, reason)
		}
		if !en.failure() {
			continue // the list named a kept entry: only the list entry goes
		}
		p.count(en)
		gone[seq] = true
		if err := p.l.addRun(p.pb, en); err != nil {
			return err
		}
	}
	kept := make([]byte, 0, len(block))
	forEachLine(block, func(seq uint64, line []byte) bool {
		if !gone[seq] {
			kept = appendBlockLine(kept, line, isBinaryBlock(block))
		}
		return true
	})
	if len(kept) == 0 {
		return p.deleteBlock(binary.BigEndian.Uint64(key))
	}
	if err := writeBlock(blocks, key, kept); err != nil {
		return err
	}
	if len(left) == 0 {
		return p.tx.Bucket(bucketFailBlocks).Delete(key)
	}
	id := binary.BigEndian.Uint64(key)
	var list []byte
	for _, seq := range left {
		list = binary.AppendUvarint(list, seq-id)
	}
	return p.tx.Bucket(bucketFailBlocks).Put(key, list)
}

// legacyFailure deletes the oldest failure still in the legacy buckets
// of a log whose move into blocks is not finished; done reports that
// there is none.
func (p *pruner) legacyFailure() (done bool, err error) {
	fb := p.tx.Bucket(bucketFailures)
	var k []byte
	if fb != nil {
		k, _ = fb.Cursor().First()
	}
	if k == nil {
		return true, fmt.Errorf("the failure index lists fewer entries than the head counts (%d); retention stopped", p.h.Failures)
	}
	if _, ok := keySeq(k); !ok {
		return true, fmt.Errorf("the failure index's key %q does not read; retention stopped", k)
	}
	key := append([]byte(nil), k...)
	if err := fb.Delete(key); err != nil {
		return false, err
	}
	evb := p.tx.Bucket(bucketEvents)
	v := evb.Get(key)
	if v == nil || binary.BigEndian.Uint64(key) < p.a.Seq {
		return false, nil // an index key left behind: nothing to delete
	}
	en, reason := readEntry(binary.BigEndian.Uint64(key), v)
	if reason == "" && !p.l.macOK(en) {
		reason = "entry does not verify"
	}
	if reason != "" {
		return false, fmt.Errorf("%s: %s; retention stopped", en.id, reason)
	}
	if !en.failure() {
		return false, nil // the index named a kept entry: only the index key goes
	}
	if err := evb.Delete(key); err != nil {
		return false, err
	}
	if err := p.tx.Bucket(bucketByProject).Delete(projectKey(en.ev.Project, en.Seq)); err != nil {
		return false, err
	}
	p.count(en)
	return false, p.l.addRun(p.pb, en)
}

// count counts a deleted entry.
func (p *pruner) count(en stored) {
	if en.failure() {
		p.h.Failures--
	}
	p.h.Live--
	p.deleted++
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
