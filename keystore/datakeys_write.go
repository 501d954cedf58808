package keystore

import (
	"fmt"
	"io"
)

// Writes of data keys. Every instance seals from blocks of a version's
// counter that it reserved durably, in a transaction that moves the
// stored counter (Reserved) past the block: on etcd, where several
// instances reserve from one counter, the transaction fails on a
// concurrent reservation and runs again from the new counter, so no two
// instances ever hold the same block and the version seals at most
// DataKeyRotateAfter values in all. A rotation is a transaction too: the
// new version's number is one past the stored current one, and a rotation
// made because the current version is spent first checks that no other
// instance has rotated it already (it then takes that version instead), so
// one spent version is followed by exactly one new version.

// reserve makes room for n more seals: another block of the current
// version, or a new version when the current one would pass its limit.
func (k *Keyring) reserve(seen *dataKeyVersion, n uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	limit := k.s.opts.DataKeyRotateAfter
	if n > limit {
		return invalid("n", "one request may seal at most %d values", limit)
	}
	cur := k.current.Load()
	if cur != seen {
		return nil // another caller moved on; try again
	}
	if cur != nil && cur.used.Load()+n <= cur.reserved.Load() {
		return nil
	}
	if cur == nil || cur.used.Load()+n > limit {
		_, err := k.rotateLocked(cur)
		return err
	}
	return k.extendLocked(cur, n)
}

// extendLocked reserves the next block of cur for n more seals. When the
// stored counter is where this instance's last block ended, sealing goes
// on from where it is; when another instance has reserved since, it goes
// on from the stored counter. The caller holds k.mu.
func (k *Keyring) extendLocked(cur *dataKeyVersion, n uint64) error {
	limit := k.s.opts.DataKeyRotateAfter
	var base, claimed, target uint64
	spent := false
	_, err := k.s.kv.Update(func(tx kvTx) error {
		b := tx.Bucket(bucketDataKeys)
		var rec dataKeyRecord
		if err := getJSON(b, dataKeyID(k.project, cur.rec.Version), &rec, ErrProjectNotFound); err != nil {
			return err
		}
		base, claimed = rec.Reserved, rec.Reserved
		if base == cur.reserved.Load() {
			base = cur.used.Load()
		}
		if spent = base+n > limit; spent {
			return nil
		}
		target = min(max(rec.Reserved+reserveBlock, base+n), limit)
		rec.Reserved = target
		return putJSON(b, dataKeyID(k.project, rec.Version), rec)
	})
	switch {
	case err != nil:
		return err
	case spent:
		_, err := k.rotateLocked(cur)
		return err
	}
	if base > cur.used.Load() {
		cur.used.Store(base) // seals below base are other instances'
	}
	cur.reserved.Store(target)
	k.s.noteReserved(k.project, cur.rec.Version, claimed, target)
	return nil
}

// rotateLocked makes a new version current. With seen nil or the current
// version, it is an explicit rotation and always makes one; with seen the
// version found spent, it takes the version another instance made instead
// when the stored current one is no longer seen. The caller holds k.mu.
func (k *Keyring) rotateLocked(seen *dataKeyVersion) (*dataKeyVersion, error) {
	return k.rotate(seen, false)
}

func (k *Keyring) rotate(seen *dataKeyVersion, explicit bool) (*dataKeyVersion, error) {
	raw := make([]byte, 32)
	if _, err := io.ReadFull(k.s.opts.Rand, raw); err != nil {
		return nil, fmt.Errorf("keystore: random: %w", err)
	}
	var seenVersion uint32
	if seen != nil {
		seenVersion = seen.rec.Version
	}
	var rec dataKeyRecord
	var meta dataKeyMeta
	var adopted bool
	rev, err := k.s.kv.Update(func(tx kvTx) error {
		b := tx.Bucket(bucketDataKeys)
		if tx.Bucket(bucketProjects).Get([]byte(k.project)) == nil {
			return ErrProjectNotFound
		}
		meta = dataKeyMeta{}
		if err := getJSON(b, dataKeyMetaID(k.project), &meta, nil); err != nil {
			return err
		}
		if adopted = !explicit && meta.Current != seenVersion; adopted {
			return getJSON(b, dataKeyID(k.project, meta.Current), &rec, ErrNotFound)
		}
		next := max(meta.Current, k.maxVersion()) + 1
		wrapped, err := seal(k.s.opts.Rand, k.s.kek, raw, wrapAD(k.project, next))
		if err != nil {
			return err
		}
		rec = dataKeyRecord{Version: next, Wrapped: wrapped, CreatedAt: k.s.now(), Reserved: min(reserveBlock, k.s.opts.DataKeyRotateAfter)}
		meta.Current = next
		if err := putJSON(b, dataKeyID(k.project, next), rec); err != nil {
			return err
		}
		return putJSON(b, dataKeyMetaID(k.project), meta)
	})
	if err != nil {
		return nil, err
	}
	k.state.Lock()
	defer k.state.Unlock()
	if adopted {
		dk, err := k.addVersionLocked(rec)
		if err != nil {
			return nil, err
		}
		k.setMetaLocked(meta, rev)
		return dk, nil
	}
	dk, err := k.addVersionLocked(rec)
	if err != nil {
		return nil, err
	}
	// This instance owns the version's first block, even if the watch has
	// reported the version (counting its block as used) already.
	dk.used.Store(0)
	dk.reserved.Store(rec.Reserved)
	k.setMetaLocked(meta, rev)
	k.s.noteReserved(k.project, rec.Version, 0, rec.Reserved)
	return dk, nil
}

// maxVersion is the highest version k holds, 0 for none.
func (k *Keyring) maxVersion() uint32 {
	var m uint32
	for v := range *k.versions.Load() {
		m = max(m, v)
	}
	return m
}

// RotateDataKey makes a new data-key version current for the project.
// Older versions keep decrypting.
func (s *Store) RotateDataKey(projectID string) (DataKeyInfo, error) {
	k, err := s.Keyring(projectID)
	if err != nil {
		return DataKeyInfo{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	dk, err := k.rotate(nil, true)
	if err != nil {
		return DataKeyInfo{}, fmt.Errorf("keystore.RotateDataKey %s: %w", projectID, err)
	}
	return k.info(dk), nil
}

// SetMinDecryptionVersion stops versions below v from decrypting. v may
// not exceed the current version.
func (s *Store) SetMinDecryptionVersion(projectID string, v uint32) ([]DataKeyInfo, error) {
	k, err := s.Keyring(projectID)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	var meta dataKeyMeta
	rev, err := s.kv.Update(func(tx kvTx) error {
		b := tx.Bucket(bucketDataKeys)
		meta = dataKeyMeta{}
		if err := getJSON(b, dataKeyMetaID(projectID), &meta, nil); err != nil {
			return err
		}
		if v < 1 || meta.Current == 0 || v > meta.Current {
			return invalid("min_decryption_version", "must be from 1 to the current version")
		}
		meta.MinDecryptionVersion = v
		return putJSON(b, dataKeyMetaID(projectID), meta)
	})
	if err == nil {
		k.state.Lock()
		k.setMetaLocked(meta, rev)
		k.state.Unlock()
	}
	k.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("keystore.SetMinDecryptionVersion %s: %w", projectID, err)
	}
	return s.DataKeys(projectID)
}
