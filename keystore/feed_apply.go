package keystore

import (
	"encoding/json"
	"strings"
)

// applyChange brings the cache up to date with one change of the store
// on etcd, as the watch reports it at revision rev. It runs on the watch
// goroutine only, which is the only writer of the cache on etcd, so the
// cache takes changes in revision order.
func (s *Store) applyChange(bucket, key string, deleted bool, value []byte, rev int64) error {
	switch bucket {
	case string(bucketProjects):
		if deleted {
			s.forgetProject(key)
			return nil
		}
		var p Project
		if err := decodeProject(value, &p); err != nil {
			return err
		}
		s.cache.putProject(p)
	case string(bucketKeys):
		if deleted {
			s.cache.deleteKey(key)
			return nil
		}
		rec := new(keyRecord)
		if err := json.Unmarshal(value, rec); err != nil {
			return err
		}
		s.cache.putKey(rec)
	case string(bucketRoutes):
		return s.applyRoute(key, deleted, value)
	case string(bucketClassifications):
		project, slug, _ := strings.Cut(key, "/")
		if deleted {
			s.cache.deleteClass(project, slug)
			return nil
		}
		var c Classification
		if err := decodeClassification(value, &c); err != nil {
			return err
		}
		s.cache.putClass(c)
	case string(bucketDataKeys):
		if !deleted {
			return s.applyDataKey(key, value, rev)
		}
	case string(bucketBudgets):
		if !deleted {
			return s.applyBudget(key, value)
		}
	case string(bucketSubjects):
		s.applySubject(key, deleted, value)
	}
	return nil
}

func (s *Store) applyRoute(key string, deleted bool, value []byte) error {
	project, id, _ := strings.Cut(key, "/")
	if s.CachedProject([]byte(project)) == nil {
		return nil // deleted with its project
	}
	if deleted {
		s.cache.setRoutes(project, s.cache.routesWith(project, id, nil))
		return nil
	}
	var r Route
	if err := decodeRoute(value, &r); err != nil {
		return err
	}
	s.cache.setRoutes(project, s.cache.routesWith(project, r.ID, &r))
	return nil
}

// applyDataKey adds a new version to the project's keyring, or sets its
// current and minimum versions. A change of a version's reservation
// counter (another instance's reservation) changes nothing here.
func (s *Store) applyDataKey(key string, value []byte, rev int64) error {
	project, rest, _ := strings.Cut(key, "/")
	if s.CachedProject([]byte(project)) == nil {
		return nil
	}
	k := s.keyringFor(project)
	k.state.Lock()
	defer k.state.Unlock()
	if rest == "meta" {
		var meta dataKeyMeta
		if err := json.Unmarshal(value, &meta); err != nil {
			return err
		}
		k.setMetaLocked(meta, rev)
		return nil
	}
	var rec dataKeyRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return err
	}
	_, err := k.addVersionLocked(rec)
	return err
}

// keyringFor returns the project's keyring, making an empty one if need be.
func (s *Store) keyringFor(project string) *Keyring {
	s.keyringsMu.Lock()
	defer s.keyringsMu.Unlock()
	k := s.keyrings[project]
	if k == nil {
		k = newKeyring(s, project)
		s.keyrings[project] = k
	}
	return k
}

// syncKeyrings brings every keyring up to date with the data keys stored
// at rev, and drops those of projects that are gone. A project whose data
// keys do not open is dropped from the cache (refused), and returned.
func (s *Store) syncKeyrings(stored map[string]*storedDataKeys, rev int64) (bad []unreadable) {
	for project, d := range stored {
		k := s.keyringFor(project)
		if err := k.sync(d.recs, d.meta, rev); err != nil {
			bad = append(bad, unreadable{string(bucketDataKeys), project + "/", err})
			s.cache.deleteProject(project, nil)
			continue
		}
		k.subjects.purgeAll() // erasures may have been missed
	}
	s.keyringsMu.Lock()
	defer s.keyringsMu.Unlock()
	for project := range s.keyrings {
		if s.CachedProject([]byte(project)) == nil {
			delete(s.keyrings, project)
		}
	}
	return bad
}

// forgetProject drops a deleted project from the cache and its keyring.
func (s *Store) forgetProject(id string) {
	s.cache.deleteProject(id, nil)
	s.keyringsMu.Lock()
	delete(s.keyrings, id)
	s.keyringsMu.Unlock()
}

// deleteKey drops a deleted key.
func (c *authCache) deleteKey(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, id)
	delete(c.usage, id)
	delete(c.budgets, id)
}

// replace makes c hold what fresh holds, keeping the in-memory "last
// used" times of the keys both hold.
func (c *authCache) replace(fresh *authCache) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, k := range fresh.keys {
		if u := c.usage[id]; u != nil {
			k.use = u
			fresh.usage[id] = u
		}
		if b, nb := c.budgets[id], fresh.budgets[id]; b != nil && nb != nil && b.limit == nb.limit {
			k.principal.Budget = b // keep this instance's chunk
			fresh.budgets[id] = b
		}
	}
	c.keys, c.projects, c.usage, c.routes, c.classes, c.budgets = fresh.keys, fresh.projects, fresh.usage, fresh.routes, fresh.classes, fresh.budgets
	c.routeVersion = max(c.routeVersion, fresh.routeVersion)
	c.owner = fresh.owner
}
