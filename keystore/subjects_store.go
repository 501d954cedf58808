package keystore

import (
	"encoding/json"
	"fmt"
)

// loadSubject reads a subject's record, creating it with a fresh secret
// when create is set and there is none.
func (s *Store) loadSubject(project string, ref [SubjectRefSize]byte, create bool) (rec subjectRecord, found bool, err error) {
	id := subjectID(project, ref)
	if !create {
		err = s.kv.View(func(tx kvTx) error {
			rec, found, err = readSubject(tx, id)
			return err
		})
		return rec, found, err
	}
	fresh, err := s.newSubjectRecord(project, ref)
	if err != nil {
		return rec, false, err
	}
	_, err = s.kv.Update(func(tx kvTx) error {
		if tx.Bucket(bucketProjects).Get([]byte(project)) == nil {
			return ErrProjectNotFound
		}
		rec, found, err = readSubject(tx, id)
		if err != nil || found {
			return err
		}
		rec, found = fresh, true
		return putJSON(tx.Bucket(bucketSubjects), id, rec)
	})
	return rec, found, err
}

// Subject describes the subject with id subject in a project: whether a
// value was sealed for it, whether it was erased, and how many values
// were sealed for it. It creates nothing but, when the project has no
// data key yet, the first one (the reference is derived from it).
func (s *Store) Subject(projectID string, subject []byte) (SubjectInfo, error) {
	k, err := s.Keyring(projectID)
	if err != nil {
		return SubjectInfo{}, err
	}
	ref, err := k.SubjectRef(subject)
	if err != nil {
		return SubjectInfo{}, err
	}
	var rec subjectRecord
	var found bool
	err = s.kv.View(func(tx kvTx) error {
		rec, found, err = readSubject(tx, subjectID(projectID, ref))
		return err
	})
	if err != nil {
		return SubjectInfo{}, fmt.Errorf("keystore.Subject %s: %w", projectID, err)
	}
	return subjectInfo(projectID, ref, rec, found, k.subjects.pendingOf(ref)), nil
}

// subjectInfo describes a record.
func subjectInfo(project string, ref [SubjectRefSize]byte, rec subjectRecord, found bool, pending uint64) SubjectInfo {
	info := SubjectInfo{ProjectID: project, Ref: subjectID("", ref)[1:], State: SubjectNone}
	if !found {
		return info
	}
	info.State, info.Sealed = SubjectActive, rec.Sealed+pending
	created := rec.CreatedAt
	info.CreatedAt = &created
	if rec.ErasedAt != nil {
		erased := *rec.ErasedAt
		info.State, info.ErasedAt = SubjectErased, &erased
	}
	return info
}

// EraseSubject destroys the secret of the subject with id subject: its
// record becomes a tombstone (erased_at, the count, no secret), the
// subject is purged from this instance's memory before EraseSubject
// returns and from every other instance's as the etcd watch reports the
// change. From then on every token of the subject fails with
// ErrSubjectErased, and sealing for it is refused with ErrSubjectErased.
// A subject never seen gets a tombstone too, so that nothing is ever
// sealed for it. erased is false when the subject was erased already.
func (s *Store) EraseSubject(projectID string, subject []byte) (info SubjectInfo, erased bool, err error) {
	k, err := s.Keyring(projectID)
	if err != nil {
		return SubjectInfo{}, false, err
	}
	ref, err := k.SubjectRef(subject)
	if err != nil {
		return SubjectInfo{}, false, err
	}
	id, now := subjectID(projectID, ref), s.now()
	pending := k.subjects.pendingOf(ref)
	var rec subjectRecord
	rev, err := s.kv.Update(func(tx kvTx) error {
		if tx.Bucket(bucketProjects).Get([]byte(projectID)) == nil {
			return ErrProjectNotFound
		}
		var found bool
		rec, found, err = readSubject(tx, id)
		if err != nil {
			return err
		}
		if erased = rec.ErasedAt == nil; !erased {
			return nil
		}
		if !found {
			rec.CreatedAt = now
		}
		rec.Wrapped, rec.ErasedAt = nil, &now
		return putJSON(tx.Bucket(bucketSubjects), id, rec)
	})
	if err != nil {
		return SubjectInfo{}, false, fmt.Errorf("keystore.EraseSubject %s: %w", projectID, err)
	}
	k.subjects.purge(ref)
	if s.feed != nil {
		if err := s.feed.waitApplied(rev); err != nil {
			return SubjectInfo{}, false, fmt.Errorf("keystore.EraseSubject %s: %w", projectID, err)
		}
	}
	return subjectInfo(projectID, ref, rec, true, pending), erased, nil
}

// FlushSubjectCounts adds the seals counted in memory since the last flush
// to the subjects' stored counts, in one transaction per project. A count
// that cannot be written is kept for the next flush.
func (s *Store) FlushSubjectCounts() error {
	s.keyringsMu.RLock()
	rings := make([]*Keyring, 0, len(s.keyrings))
	for _, k := range s.keyrings {
		rings = append(rings, k)
	}
	s.keyringsMu.RUnlock()
	var errs []error
	for _, k := range rings {
		if err := k.flushSubjectCounts(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("keystore.FlushSubjectCounts: %w", errs[0])
	}
	return nil
}

func (k *Keyring) flushSubjectCounts() error {
	counts := k.subjects.takeCounts()
	if len(counts) == 0 {
		return nil
	}
	_, err := k.s.kv.Update(func(tx kvTx) error {
		b := tx.Bucket(bucketSubjects)
		for ref, n := range counts {
			id := subjectID(k.project, ref)
			rec, found, err := readSubject(tx, id)
			if err != nil {
				return err
			}
			if !found {
				continue // deleted with its project
			}
			rec.Sealed += n
			if err := putJSON(b, id, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		k.subjects.mu.Lock()
		if k.subjects.orphans == nil {
			k.subjects.orphans = counts
		} else {
			for ref, n := range counts {
				k.subjects.orphans[ref] += n
			}
		}
		k.subjects.mu.Unlock()
	}
	return err
}

// applySubject purges a subject erased (or deleted) on etcd from this
// instance's memory. Other changes (a count flushed, a record created)
// leave the cache as it is: a subject's secret never changes.
func (s *Store) applySubject(key string, deleted bool, value []byte) {
	if !deleted {
		var rec subjectRecord
		if json.Unmarshal(value, &rec) == nil && rec.ErasedAt == nil {
			return
		}
	}
	project, ref64, _ := cutLast(key)
	s.keyringsMu.RLock()
	k := s.keyrings[project]
	s.keyringsMu.RUnlock()
	if k == nil {
		return
	}
	ref, ok := decodeRef(ref64)
	if !ok {
		return
	}
	k.subjects.purge(ref)
}
