package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Copying a store to another (bbolt to etcd and back): every record of
// every bucket, as stored, so that tokens sealed before the copy open
// after it. A record already equal at the destination is left alone, so
// copying twice changes nothing; one that differs is a conflict, left as
// it is unless CopyOptions.Overwrite. Both stores were opened with the
// same master key, which each checked against its own check value, so the
// check value itself is never copied; a data-key version is compared by
// its key material, and its seal counter is carried over as the larger of
// the two (see mergeDataKey).

// CopyOptions configure Copy. The zero value reports conflicts and
// changes nothing at them.
type CopyOptions struct {
	// Overwrite replaces a destination record that differs from the
	// source's. It never replaces a data-key version whose key differs:
	// tokens sealed with the destination's key would no longer open.
	Overwrite bool
	// Merge copies the records a destination that already holds projects
	// lacks. Without it, only a destination without projects takes them:
	// in one that has some, a missing record may have been deleted there
	// since an earlier copy (a project deleted because its keys leaked, a
	// route taken out), and copying it would bring it back. Such records
	// are reported as conflicts ("absent at the destination").
	Merge bool
}

// conflictAbsent is the conflict of a record that a destination holding
// projects lacks, without CopyOptions.Merge.
const conflictAbsent = "absent at the destination, which already holds projects: deleted there since an earlier copy, or new at the source; not copied without --merge"

// CopyCount is what Copy did with the records of one kind (a bucket of
// the store: projects, keys, project_keys, datakeys, routes,
// classifications, meta).
type CopyCount struct {
	Kind string
	// Copied records were missing at the destination, or replaced there
	// (Overwrite, or a data-key seal counter raised).
	Copied int
	// Unchanged records were already equal at the destination.
	Unchanged int
	// Conflicts differ at the destination and were left as they are.
	Conflicts int
}

// CopyConflict names a destination record left as it is.
type CopyConflict struct {
	Kind, Key string
	// Reason says how it differs.
	Reason string
}

// CopyReport is what Copy did, per kind in the store's bucket order.
type CopyReport struct {
	Kinds     []CopyCount
	Conflicts []CopyConflict
}

// Total adds up the counts of every kind.
func (r CopyReport) Total() CopyCount {
	t := CopyCount{Kind: "total"}
	for _, c := range r.Kinds {
		t.Copied += c.Copied
		t.Unchanged += c.Unchanged
		t.Conflicts += c.Conflicts
	}
	return t
}

// copyRecord is one record read from the source; its slices are copies.
type copyRecord struct {
	bucket []byte
	key    []byte
	value  []byte
}

// Copy copies every record of src into dst (see the top of copy.go). src
// and dst must be open with the same master key. On etcd the writes are
// made in batches within etcd's transaction limit, so a copy that fails
// part way leaves the batches before it written; running it again
// finishes it. Instances serving from dst see the records arrive batch by
// batch: copy before starting them. On bbolt, dst's cache does not see
// the copied records: open the directory again to use them.
func Copy(dst, src *Store, o CopyOptions) (CopyReport, error) {
	recs, err := src.copyRecords()
	if err != nil {
		return CopyReport{}, fmt.Errorf("keystore.Copy: read the source: %w", err)
	}
	fresh, err := dst.withoutProjects()
	if err != nil {
		return CopyReport{}, fmt.Errorf("keystore.Copy: read the destination: %w", err)
	}
	o.Merge = o.Merge || fresh
	batch := len(recs)
	if dst.maxWrites > 0 {
		batch = dst.maxWrites
	}
	var report CopyReport
	for _, b := range allBuckets {
		report.Kinds = append(report.Kinds, CopyCount{Kind: string(b)})
	}
	for len(recs) > 0 {
		n := min(batch, len(recs))
		part, err := dst.copyBatch(recs[:n], o)
		if err != nil {
			return report, fmt.Errorf("keystore.Copy: write the destination: %w", err)
		}
		report.add(part)
		recs = recs[n:]
	}
	return report, nil
}

func (r *CopyReport) add(p CopyReport) {
	for i := range r.Kinds {
		r.Kinds[i].Copied += p.Kinds[i].Copied
		r.Kinds[i].Unchanged += p.Kinds[i].Unchanged
		r.Kinds[i].Conflicts += p.Kinds[i].Conflicts
	}
	r.Conflicts = append(r.Conflicts, p.Conflicts...)
}

// withoutProjects reports whether s holds no project record.
func (s *Store) withoutProjects() (bool, error) {
	empty := true
	err := s.kv.View(func(tx kvTx) error {
		empty = true // an engine may run the transaction again
		return tx.Bucket(bucketProjects).ForEach(func(_, _ []byte) error {
			empty = false
			return errStopCopyScan
		})
	})
	if errors.Is(err, errStopCopyScan) {
		err = nil
	}
	return empty, err
}

var errStopCopyScan = errors.New("keystore: a project found")

// copyRecords reads every record of s in one transaction, bucket by
// bucket in allBuckets order, leaving out the master key's check value.
func (s *Store) copyRecords() ([]copyRecord, error) {
	var recs []copyRecord
	err := s.kv.View(func(tx kvTx) error {
		recs = recs[:0] // an engine may run the transaction again
		for _, name := range allBuckets {
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				if bytes.Equal(name, bucketMeta) && bytes.Equal(k, metaMasterCheck) {
					return nil
				}
				recs = append(recs, copyRecord{bucket: name, key: bytes.Clone(k), value: bytes.Clone(v)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return recs, err
}

// copyBatch writes recs into s in one transaction, deciding for each
// against what s holds at that transaction's reads.
func (s *Store) copyBatch(recs []copyRecord, o CopyOptions) (CopyReport, error) {
	var part CopyReport
	_, err := s.kv.Update(func(tx kvTx) error {
		part = CopyReport{Kinds: make([]CopyCount, len(allBuckets))} // the engine may run this again
		for _, r := range recs {
			b := tx.Bucket(r.bucket)
			put, conflict, err := s.copyDecision(r, b.Get(r.key), o)
			if err != nil {
				return err
			}
			c := &part.Kinds[bucketIndex(r.bucket)]
			switch {
			case conflict != "":
				c.Conflicts++
				part.Conflicts = append(part.Conflicts, CopyConflict{Kind: string(r.bucket), Key: string(r.key), Reason: conflict})
			case put == nil:
				c.Unchanged++
			default:
				c.Copied++
				if err := b.Put(r.key, put); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return part, err
}

// copyDecision says what to do with source record r where the
// destination holds have (nil: nothing): put is the value to write (nil:
// leave it), conflict why the destination's record is left although it
// differs.
func (s *Store) copyDecision(r copyRecord, have []byte, o CopyOptions) (put []byte, conflict string, err error) {
	switch {
	case have == nil && !o.Merge && !bytes.Equal(r.bucket, bucketMeta):
		return nil, conflictAbsent, nil
	case have == nil:
		return r.value, "", nil
	case bytes.Equal(have, r.value):
		return nil, "", nil
	case bytes.Equal(r.bucket, bucketDataKeys) && isDataKeyVersion(r.key):
		return s.mergeDataKey(r, have)
	case bytes.Equal(r.bucket, bucketMeta) && bytes.Equal(r.key, metaExpiryCheckpoint):
		// State of the store, moved by every instance every 30 s: the
		// later of the two, so that no expiry is reported twice.
		var from, to time.Time
		if from.UnmarshalText(r.value) == nil && to.UnmarshalText(have) == nil && !from.After(to) {
			return nil, "", nil
		}
		return r.value, "", nil
	case bytes.Equal(r.bucket, bucketSubjects) && erasedSubject(have):
		return nil, "a subject erased at the destination; never brought back, not even with --overwrite (its tokens must stay unreadable)", nil
	case bytes.Equal(r.bucket, bucketKeys) && sameButLastUse(have, r.value):
		// Used at the destination since the copy (or at the source):
		// the same key. The destination's record stays.
		return nil, "", nil
	case guarded(r):
		return nil, "differs at the destination; never overwritten, so that a revocation or a retired data-key version there stays (change it with the admin API)", nil
	case o.Overwrite:
		return r.value, "", nil
	}
	return nil, "differs at the destination", nil
}

// guarded reports whether r is a record that Overwrite does not replace
// when the destination's differs: an API key's (its revocation, expiry,
// permissions) and a project's data-key state (current and minimum
// decryption versions). Copying an older store over a newer one must not
// bring a revoked key or a retired data-key version back.
func guarded(r copyRecord) bool {
	return bytes.Equal(r.bucket, bucketKeys) ||
		(bytes.Equal(r.bucket, bucketDataKeys) && bytes.HasSuffix(r.key, []byte("/meta")))
}

// sameButLastUse reports whether two stored key records differ at most in
// their last_used_at.
func sameButLastUse(a, b []byte) bool {
	var x, y keyJSON
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	x.LastUsedAt, y.LastUsedAt = nil, nil
	ja, erra := json.Marshal(x)
	jb, errb := json.Marshal(y)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}

// erasedSubject reports whether a stored subject record is an erasure's
// tombstone (or cannot be read, which is kept as it is too).
func erasedSubject(v []byte) bool {
	var rec subjectRecord
	return json.Unmarshal(v, &rec) != nil || rec.ErasedAt != nil || rec.Wrapped == nil
}

func bucketIndex(name []byte) int {
	for i, b := range allBuckets {
		if bytes.Equal(b, name) {
			return i
		}
	}
	panic("keystore: unknown bucket " + string(name))
}
