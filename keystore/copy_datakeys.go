package keystore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// isDataKeyVersion reports whether key of the datakeys bucket is a
// version's record ("<project>/v/<n>"), not a project's data-key settings.
func isDataKeyVersion(key []byte) bool { return bytes.Contains(key, []byte("/v/")) }

// mergeDataKey decides a data-key version that the destination holds
// with other bytes than the source's. Both sides' key material is
// unwrapped and compared: another key under the same version number is a
// conflict that Overwrite does not replace, since the destination's
// tokens sealed with it would no longer open. The same key (wrapped
// alike or not) keeps the destination's record, with its seal counter
// raised to the source's when the source's is higher, so that no block
// of seals the source reserved is handed out again.
func (s *Store) mergeDataKey(r copyRecord, have []byte) (put []byte, conflict string, err error) {
	project, _, _ := strings.Cut(string(r.key), "/")
	var from, to dataKeyRecord
	if err := json.Unmarshal(r.value, &from); err != nil {
		return nil, "", fmt.Errorf("data key %s at the source: %w", r.key, err)
	}
	if err := json.Unmarshal(have, &to); err != nil {
		return nil, "", fmt.Errorf("data key %s at the destination: %w", r.key, err)
	}
	a, errA := open(s.kek, from.Wrapped, wrapAD(project, from.Version))
	b, errB := open(s.kek, to.Wrapped, wrapAD(project, to.Version))
	switch {
	case errA != nil || errB != nil:
		return nil, "", fmt.Errorf("data key %s: %w", r.key, ErrWrongMasterKey)
	case from.Version != to.Version || !bytes.Equal(a, b):
		return nil, "another data key under the same version (never overwritten: tokens sealed with it would no longer open)", nil
	case from.Reserved <= to.Reserved:
		return nil, "", nil
	}
	to.Reserved = from.Reserved
	put, err = json.Marshal(to)
	return put, "", err
}
