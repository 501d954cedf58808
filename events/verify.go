package events

import (
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// VerifyResult is the outcome of checking the chain.
type VerifyResult struct {
	OK bool `json:"ok"`
	// Checked is how many entries were read.
	Checked uint64 `json:"checked"`
	// FirstSeq and LastSeq bound the chain (after pruning): LastSeq is
	// its last entry, or the last of a run of failures pruned from it.
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Pruned is how many entries between FirstSeq and LastSeq retention
	// removed (failures), each run of them vouched for by a signed record.
	Pruned uint64 `json:"pruned,omitempty"`
	// HeadUnsigned: the log was last written by an sdproxy from before
	// signed heads. Such a head cannot show a cut tail; only a checkpoint
	// can (VerifyWith). Opening the log for writing signs it.
	HeadUnsigned bool `json:"head_unsigned,omitempty"`
	// Broken names the first entry that fails, when OK is false.
	Broken *Broken `json:"first_broken,omitempty"`
}

// Broken names one entry that fails verification and why.
type Broken struct {
	Seq    uint64 `json:"seq"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// VerifyOptions hold what Verify compares the log with, from outside it.
// The zero value checks the log alone.
type VerifyOptions struct {
	// MinSeq, when not zero, is a seq the log reached (from a checkpoint,
	// say): a log that now ends before it lost entries at its end.
	MinSeq uint64
	// Checkpoint, when not nil, is a checkpoint of this log (from the
	// sink or the log, see ParseCheckpoint). Its signature must verify;
	// its entry must still be in the chain with the same mac, or have
	// been pruned (before the anchor, or in a run of pruned failures);
	// and the log must reach at least its seq.
	Checkpoint *Checkpoint
}

// Verify is VerifyWith of zero options.
func (l *Log) Verify() (VerifyResult, error) { return l.VerifyWith(VerifyOptions{}) }

// VerifyWith walks the chain from its anchor to its head and reports the
// first entry that was changed, removed, inserted or reordered, a head
// that was moved or whose signature fails, a log that was wiped (a
// bucket or the head missing), and what o says the log lost. A checkpoint
// whose signature fails is an error (ErrBadCheckpoint), not a result.
func (l *Log) VerifyWith(o VerifyOptions) (VerifyResult, error) {
	if o.Checkpoint != nil && !l.checkpointOK(*o.Checkpoint) {
		return VerifyResult{}, fmt.Errorf("events.VerifyWith: %w", ErrBadCheckpoint)
	}
	var res VerifyResult
	err := l.db.View(func(tx *bolt.Tx) error {
		w := &walker{l: l, o: o}
		b := w.walk(tx)
		w.res.Broken, w.res.OK = b, b == nil
		res = w.res
		return nil
	})
	return res, err
}

// walker is one verification.
type walker struct {
	l              *Log
	o              VerifyOptions
	res            VerifyResult
	seq            uint64 // the next seq the chain must hold
	prev           string // and its link
	anchored       bool   // the chain starts at an anchor
	signed         bool   // the log is known to be written since signed heads
	legacy         bool   // an entry of the layout before blocks was walked
	live, failures uint64
	ix             idxCheck // the index (see verify_index.go)
	ixBroken       *Broken  // the first index value found changed
	last           stored   // the entry last verified
}

func (w *walker) walk(tx *bolt.Tx) *Broken {
	if b := missingBucket(tx); b != "" {
		return &Broken{Reason: "the log was wiped: bucket " + b + " is missing"}
	}
	a, signed, ok := w.l.chainStart(tx)
	if !ok {
		return &Broken{Reason: "the pruning anchor was changed"}
	}
	w.seq, w.prev, w.signed = a.Seq, a.Prev, signed
	w.anchored = tx.Bucket(bucketMeta).Get(metaAnchor) != nil
	w.res.FirstSeq = a.Seq
	if b := w.chain(tx); b != nil {
		return b
	}
	if b := w.head(tx.Bucket(bucketMeta)); b != nil {
		return b
	}
	if b := w.reach(a); b != nil {
		return b
	}
	// The chain holds: now whether queries find what it holds.
	w.noteIndex(w.indexBlock(tx))
	if w.ixBroken != nil {
		return w.ixBroken
	}
	return w.indexUpTo(tx)
}

// noteIndex keeps the first changed index value found, reported once the
// chain is known to hold.
func (w *walker) noteIndex(b *Broken) {
	if w.ixBroken == nil {
		w.ixBroken = b
	}
}

// chain walks entries and runs of pruned entries in seq order. Entries
// before the chain's start that retention left in its first block (it
// deletes whole blocks) are skipped.
func (w *walker) chain(tx *bolt.Tx) *Broken {
	it := newEntryIter(tx)
	seq, v, blk, _, ok := it.next()
	for ok && seq < w.seq {
		seq, v, blk, _, ok = it.next()
	}
	var rk, rv []byte
	var rc *bolt.Cursor
	if pb := tx.Bucket(bucketPruned); pb != nil {
		rc = pb.Cursor()
		rk, rv = rc.First()
	}
	for ok || rk != nil {
		var b *Broken
		if rk != nil && (!ok || runSeq(rk) < seq) {
			b = w.run(rk, rv)
			rk, rv = rc.Next()
		} else {
			if b = w.moved(seq, v, blk); b == nil {
				b = w.entry(seq, v)
			}
			if b == nil && w.ixBroken == nil {
				w.noteIndex(w.indexEntry(tx, blk, &w.last))
			}
			seq, v, blk, _, ok = it.next()
		}
		if b != nil {
			return b
		}
	}
	return nil
}

// moved reports an entry of the layout before blocks (blk 0) that cannot
// be one: only JSON lines were ever stored one per value, and migrate
// moves them into blocks oldest first, before anything is written after
// them, so a block's entry never follows one. An entry moved there out
// of its block would be verified without its index, and no query reads
// that bucket: it would be hidden from every listing.
func (w *walker) moved(seq uint64, v []byte, blk uint64) *Broken {
	var reason string
	switch {
	case blk == 0 && isBinEntry(v):
		reason = "entry was moved out of its block (a binary entry among the entries of the layout before blocks)"
	case blk == 0:
		w.legacy = true
	case w.legacy:
		reason = "entries of the layout before blocks come before it (an entry was moved out of its block)"
	}
	if reason == "" {
		return nil
	}
	return &Broken{Seq: seq, ID: "evt_" + strconv.FormatUint(seq, 10), Reason: reason}
}

// entry checks one stored entry against the expected links.
//
// An entry that does not read, or whose seq or id were changed, is named
// by the seq the chain expects there: a block's line has no other.
func (w *walker) entry(seq uint64, v []byte) *Broken {
	en, reason := readEntry(seq, v)
	switch {
	case reason != "":
		seq = w.seq
		en.id = "evt_" + strconv.FormatUint(seq, 10)
	case en.Seq != w.seq && !w.l.macOK(en):
		// A binary entry's seq has one form, covered by its mac: a
		// changed one is a changed entry, at the place the chain expects.
		reason, seq = "content was changed (HMAC mismatch)", w.seq
		en.id = "evt_" + strconv.FormatUint(seq, 10)
	case en.Seq != w.seq:
		reason = fmt.Sprintf("entries missing before it (expected evt_%d)", w.seq)
	case en.Prev != w.prev:
		reason = "link to the previous entry does not match (an entry before it was changed or removed)"
	case !w.l.macOK(en):
		reason = "content was changed (HMAC mismatch)"
	case w.o.Checkpoint != nil && w.o.Checkpoint.Seq == en.Seq && w.o.Checkpoint.MAC != en.MAC:
		reason = "entry differs from the checkpoint's (the log was rewritten from here)"
	}
	if reason != "" {
		return &Broken{Seq: seq, ID: en.id, Reason: reason}
	}
	w.res.Checked++
	w.live++
	if en.failure() {
		w.failures++
	}
	if en.ev.Type == TypeLogUpgraded {
		w.signed = true
	}
	w.seq, w.prev, w.res.LastSeq = en.Seq+1, en.MAC, en.Seq
	w.last = en
	return nil
}

// run checks one record of pruned failures against the expected links.
func (w *walker) run(k, v []byte) *Broken {
	seq := runSeq(k)
	b := &Broken{Seq: seq, ID: "evt_" + strconv.FormatUint(seq, 10)}
	r, ok := w.l.readRun(k, v)
	cp := w.o.Checkpoint
	switch {
	case !ok:
		b.Reason = "the record of entries removed by retention was changed (signature mismatch)"
	case r.From != w.seq:
		b.Reason = fmt.Sprintf("entries missing before it (expected evt_%d)", w.seq)
	case r.Prev != w.prev:
		b.Reason = "link to the previous entry does not match (an entry before it was changed or removed)"
	case cp != nil && cp.Seq == r.To && cp.MAC != r.MAC:
		b.Reason = "entry differs from the checkpoint's (the log was rewritten from here)"
	default:
		w.res.Pruned += r.To - r.From + 1
		w.seq, w.prev, w.res.LastSeq = r.To+1, r.MAC, r.To
		return nil
	}
	return b
}

// head checks that the chain ends where the signed head says, so entries
// removed from the end are found too, and that its counts match.
func (w *walker) head(meta *bolt.Bucket) *Broken {
	h, err := w.l.loadHead(meta)
	at := &Broken{Seq: h.Seq, ID: "evt_" + strconv.FormatUint(h.Seq, 10)}
	last := w.seq - 1
	switch {
	case errors.Is(err, errNoHead):
		return &Broken{Reason: "the log was wiped: the head record is missing"}
	case errors.Is(err, errHeadUnsigned) && w.signed:
		at.Reason = "the head record lost its signature (it was replaced)"
	case errors.Is(err, errHeadUnsigned):
		w.res.HeadUnsigned = true
	case err != nil:
		at.Reason = err.Error()
	}
	switch {
	case at.Reason != "":
	case h.Seq > last:
		at.Reason = "entries missing at the end (the head names a later entry)"
	case h.Seq < last:
		at.Reason = "entries after the head (the head was moved back)"
	case h.MAC != w.prev:
		at.Reason = "the last entry does not match the head (entries at the end were replaced)"
	case !w.res.HeadUnsigned && (h.Live != w.live || h.Failures != w.failures):
		at.Reason = fmt.Sprintf("the head counts %d entries (%d failures), the chain holds %d (%d): the head was replaced by an older one",
			h.Live, h.Failures, w.live, w.failures)
	default:
		return nil
	}
	return at
}

// reach checks what the options say the log reached.
func (w *walker) reach(a anchor) *Broken {
	last := w.seq - 1
	min := w.o.MinSeq
	if cp := w.o.Checkpoint; cp != nil && cp.Seq > min {
		min = cp.Seq
	}
	if min > last {
		return &Broken{Seq: min, ID: "evt_" + strconv.FormatUint(min, 10),
			Reason: fmt.Sprintf("entries missing at the end: the log ends at evt_%d, a checkpoint saw evt_%d", last, min)}
	}
	// Below the chain's start only a (verified) anchor vouches for a
	// checkpoint's entry; the entry right before the start is its link.
	if cp := w.o.Checkpoint; cp != nil && cp.Seq > 0 && cp.Seq+1 == a.Seq && w.anchored && cp.MAC != a.Prev {
		return &Broken{Seq: cp.Seq, ID: "evt_" + strconv.FormatUint(cp.Seq, 10),
			Reason: "the anchor differs from the checkpoint's entry (the log was rewritten)"}
	}
	return nil
}
