package keystore

import (
	"encoding/json"
	"fmt"
	"strings"
)

// loadCache reads every project, key, route and classification into memory.
func (s *Store) loadCache() error {
	s.cache.init(s)
	s.newHMACPool()
	return s.kv.View(s.cache.load)
}

// load reads every project, key, route and classification of tx into c.
// A record that cannot be read fails the load.
func (c *authCache) load(tx kvTx) error {
	return c.loadWith(tx, nil)
}

// unreadable describes a record of the store that could not be decoded.
type unreadable struct {
	bucket, key string
	err         error
}

func (u unreadable) Error() string {
	return fmt.Sprintf("keystore: record %s/%s cannot be read (written by another version, or corrupt): %v", u.bucket, u.key, u.err)
}

// loadSkipping is load for a cache shared through etcd, where any
// instance (another version, a bug, a hand edit) may have written a
// record this one cannot read. Such a record must neither stop the load
// (every instance's restart, and every reload after a compaction, would
// fail) nor be served in an older state: a key whose record is unreadable
// is left out (refused), and so is a project whose record, or one of
// whose routes or classifications, is unreadable (its requests are
// refused rather than served under rules that may be out of date). It
// returns what was left out.
func (c *authCache) loadSkipping(tx kvTx) (bad []unreadable, err error) {
	err = c.loadWith(tx, func(bucket, key string, err error) {
		bad = append(bad, unreadable{bucket, key, err})
	})
	if err != nil {
		return nil, err
	}
	for _, u := range bad {
		if project := unreadableProject(u.bucket, u.key); project != "" {
			c.deleteProject(project, nil)
		}
	}
	return bad, nil
}

// unreadableProject is the project to refuse while the record key of
// bucket is unreadable: "" for a key record (the key alone is refused).
// A data-key record ("<project>/meta", "<project>/v/<n>") refuses its
// project: its minimum decryption version, say, may have been raised.
func unreadableProject(bucket, key string) string {
	switch bucket {
	case string(bucketProjects):
		return key
	case string(bucketRoutes), string(bucketClassifications), string(bucketDataKeys):
		project, _, _ := strings.Cut(key, "/")
		return project
	}
	return ""
}

// failOnBad makes an unreadable record fail the load.
func failOnBad(_, _ []byte, err error) error { return err }

// loadWith is load; with bad set, a record that cannot be decoded is
// reported to bad and left out rather than failing the load.
func (c *authCache) loadWith(tx kvTx, bad func(bucket, key string, err error)) error {
	skip := failOnBad
	if bad != nil {
		skip = func(bucket, k []byte, err error) error {
			bad(string(bucket), string(k), err)
			return nil
		}
	}
	err := tx.Bucket(bucketProjects).ForEach(func(k, v []byte) error {
		var p Project
		if err := decodeProject(v, &p); err != nil {
			return skip(bucketProjects, k, err)
		}
		c.putProject(p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("keystore: load projects: %w", err)
	}
	err = tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
		rec := new(keyRecord)
		if err := json.Unmarshal(v, rec); err != nil {
			return skip(bucketKeys, k, fmt.Errorf("keystore: load keys: %w", err))
		}
		c.putKey(rec)
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.loadRoutes(tx, skip); err != nil {
		return err
	}
	return c.loadClasses(tx, skip)
}
