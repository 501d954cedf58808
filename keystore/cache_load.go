package keystore

import (
	"encoding/json"
	"fmt"
)

// loadCache reads every project, key, route and classification into memory.
func (s *Store) loadCache() error {
	s.cache.init(s)
	s.newHMACPool()
	return s.kv.View(s.cache.load)
}

// load reads every project, key, route and classification of tx into c.
func (c *authCache) load(tx kvTx) error {
	err := tx.Bucket(bucketProjects).ForEach(func(_, v []byte) error {
		var p Project
		if err := decodeProject(v, &p); err != nil {
			return err
		}
		c.putProject(p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("keystore: load projects: %w", err)
	}
	err = tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
		rec := new(keyRecord)
		if err := json.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("keystore: load keys: %w", err)
		}
		c.putKey(rec)
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.loadRoutes(tx); err != nil {
		return err
	}
	return c.loadClasses(tx)
}
