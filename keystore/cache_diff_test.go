package keystore

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// cacheDiff compares the whole cache with the cache a restart would load
// from the file (projects, keys, routes, classifications and last-use times, which must
// have been flushed) and describes every difference. Route versions are
// not compared: a restart numbers them anew.
func cacheDiff(s *Store) []string {
	want, err := cacheFromFile(s)
	if err != nil {
		return []string{fmt.Sprintf("reading the store: %v", err)}
	}
	got := &s.cache
	got.mu.RLock()
	defer got.mu.RUnlock()
	var out []string
	for id, w := range want.projects {
		if g := got.projects[id]; g == nil || !sameProject(*g, *w) {
			out = append(out, fmt.Sprintf("cached project %s = %s, stored %s", id, describeProject(g), describeProject(w)))
		}
	}
	for id, g := range got.projects {
		if want.projects[id] == nil {
			out = append(out, fmt.Sprintf("cached project %s = %s, not in the store", id, describeProject(g)))
		}
	}
	for id, w := range want.keys {
		if g := got.keys[id]; g == nil || !sameCachedKey(g, w) {
			out = append(out, fmt.Sprintf("cached key %s = %s, stored %s", id, describeKey(g), describeKey(w)))
		}
	}
	for id, g := range got.keys {
		if want.keys[id] == nil {
			out = append(out, fmt.Sprintf("cached key %s = %s, not in the store", id, describeKey(g)))
		}
	}
	for id, w := range want.routes {
		if g, ok := got.routes[id]; !ok || !sameRoutes(g.routes, w.routes) {
			out = append(out, fmt.Sprintf("cached routes of %s = %s, stored %s", id, describeRoutes(g.routes), describeRoutes(w.routes)))
		}
	}
	for id, g := range got.routes {
		if _, ok := want.routes[id]; !ok && len(g.routes) > 0 {
			out = append(out, fmt.Sprintf("cached routes of %s = %s, none stored", id, describeRoutes(g.routes)))
		}
	}
	out = append(out, classDiff(got, want)...)
	for id, g := range got.usage {
		w := want.usage[id]
		switch {
		case w == nil:
			out = append(out, fmt.Sprintf("cached last use of %s, a key not in the store", id))
		case g.last.Load() != w.last.Load():
			out = append(out, fmt.Sprintf("cached last use of %s = %d, stored %d", id, g.last.Load(), w.last.Load()))
		case got.keys[id] != nil && got.keys[id].use != g:
			out = append(out, fmt.Sprintf("cached key %s does not share the last use kept for its id", id))
		}
	}
	return out
}

// cacheFromFile builds, in a fresh authCache, what loadCache would.
func cacheFromFile(s *Store) (*authCache, error) {
	c := new(authCache)
	c.init(nil)
	err := s.kv.View(func(tx kvTx) error {
		err := tx.Bucket(bucketProjects).ForEach(func(_, v []byte) error {
			var p Project
			if err := decodeProject(v, &p); err != nil {
				return err
			}
			c.putProject(p)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			rec := new(keyRecord)
			if err := rec.UnmarshalJSON(v); err != nil {
				return err
			}
			c.putKey(rec)
			return nil
		})
		if err != nil {
			return err
		}
		if err := c.loadRoutes(tx, failOnBad); err != nil {
			return err
		}
		return c.loadClasses(tx, failOnBad)
	})
	return c, err
}

// classDiff describes the differences between two caches' classifications.
func classDiff(got, want *authCache) []string {
	var out []string
	describe := func(pc *projectClasses) string {
		if pc == nil {
			return "none"
		}
		var list []string
		for _, e := range []*cachedClass{pc.none} {
			list = append(list, describeClass(e))
		}
		for _, slug := range slices.Sorted(maps.Keys(pc.bySlug)) {
			list = append(list, describeClass(pc.bySlug[slug]))
		}
		return fmt.Sprint(list)
	}
	for id, w := range want.classes {
		if g := describe(got.classes[id]); g != describe(w) {
			out = append(out, fmt.Sprintf("cached classifications of %s = %s, stored %s", id, g, describe(w)))
		}
	}
	for id, g := range got.classes {
		if want.classes[id] == nil {
			out = append(out, fmt.Sprintf("cached classifications of %s = %s, not in the store", id, describe(g)))
		}
	}
	return out
}

func describeClass(e *cachedClass) string {
	enc, err := encodeClassification(e.c)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s builtin=%t mask=%+v", enc, e.c.Builtin, e.mask)
}

func sameRoutes(a, b []Route) bool {
	return slices.EqualFunc(a, b, func(x, y Route) bool {
		ex, err1 := encodeRoute(x)
		ey, err2 := encodeRoute(y)
		return err1 == nil && err2 == nil && bytes.Equal(ex, ey)
	})
}

func describeRoutes(rs []Route) string {
	var b bytes.Buffer
	for _, r := range rs {
		fmt.Fprintf(&b, "{%s %d %s %s}", r.ID, r.Order, r.Path, r.UpdatedAt.Format("15:04:05.000"))
	}
	return "[" + b.String() + "]"
}

func sameProject(a, b Project) bool {
	ea, err1 := encodeProject(a)
	eb, err2 := encodeProject(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

func sameCachedKey(a, b *cachedKey) bool {
	pa, pb := a.principal, b.principal
	return pa.KeyID == pb.KeyID && pa.ProjectID == pb.ProjectID &&
		pa.CanEncrypt == pb.CanEncrypt && pa.CanDecrypt == pb.CanDecrypt && pa.CanDecryptMasked == pb.CanDecryptMasked &&
		slices.Equal(pa.Classifications, pb.Classifications) &&
		bytes.Equal(a.hash, b.hash) && a.revoked == b.revoked && a.expiresAt == b.expiresAt
}

func describeKey(k *cachedKey) string {
	if k == nil {
		return "none"
	}
	return fmt.Sprintf("{project %s revoked %t expires %d}", k.principal.ProjectID, k.revoked, k.expiresAt)
}

func describeProject(p *Project) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("{name %q rate %v updated %s}", p.Name, p.RateLimit, p.UpdatedAt.Format("15:04:05.000"))
}
