package keystore

// update runs fn in a write transaction and, once it has committed, apply,
// which brings the cache up to date; apply does not run when fn fails or
// the commit does. Both run under s.writeMu, so the cache takes writes in
// the order the file did and always ends with the newest committed record:
// a revoke that commits after a rotation of the same key is never
// overwritten in the cache by that rotation's older copy.
//
// On etcd the watch is the only writer of the cache (see feed): update
// commits, then waits until the watch has applied the commit's revision;
// apply does not run. Writes of one instance still go one at a time,
// under s.writeMu: run side by side they would only conflict with each
// other, and retry.
func (s *Store) update(fn func(kvTx) error, apply func()) error {
	if s.feed != nil {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		rev, err := s.kv.Update(fn)
		if err != nil {
			return err
		}
		return s.feed.waitApplied(rev)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.updateLocked(fn, apply)
}

// updateLocked is update for a caller that holds s.writeMu.
func (s *Store) updateLocked(fn func(kvTx) error, apply func()) error {
	if _, err := s.kv.Update(fn); err != nil {
		return err
	}
	if s.afterCommit != nil {
		s.afterCommit()
	}
	apply()
	return nil
}
