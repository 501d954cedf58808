package keystore

import (
	"encoding/json"
	"fmt"
	"time"
)

var metaExpiryCheckpoint = []byte("expiry_checkpoint")

// maxCheckpointLead is how far ahead of an instance's clock the expiry
// checkpoint may be and still be kept: the skew between instances' clocks.
// Further ahead, an instance's clock was wrong when it moved it (before
// NTP, say); kept, it would hide every expiry up to then.
const maxCheckpointLead = 5 * time.Minute

// TakeExpired returns the keys that expired since the previous call (or,
// on the very first call, since the store was created) up to now, and
// moves the checkpoint to now, durably, so each expiry is reported once
// even across restarts. Revoked and rotated-away keys are included only
// when they expired while still otherwise active.
func (s *Store) TakeExpired() ([]Key, error) {
	now := s.now()
	var out []Key
	_, err := s.kv.Update(func(tx kvTx) error {
		out = out[:0] // an engine may run the transaction again
		meta := tx.Bucket(bucketMeta)
		var from time.Time
		if v := meta.Get(metaExpiryCheckpoint); v != nil {
			if err := from.UnmarshalText(v); err != nil {
				return err
			}
		}
		if !now.After(from) {
			if from.Sub(now) <= maxCheckpointLead {
				// Another instance, whose clock is ahead, moved it past
				// this one's now: never move it back, or expiries
				// between would be reported again.
				return nil
			}
			// Far ahead: start again from now (an expiry that the
			// instance with the wrong clock reported early is reported
			// again when it happens; none is lost).
			from = now
		}
		err := tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			var rec keyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			e := rec.ExpiresAt
			if e != nil && e.After(from) && !e.After(now) && (rec.RevokedAt == nil || rec.RevokedAt.After(*e)) {
				out = append(out, rec.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		b, _ := now.MarshalText()
		return meta.Put(metaExpiryCheckpoint, b)
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.TakeExpired: %w", err)
	}
	return out, nil
}
