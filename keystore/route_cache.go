package keystore

import (
	"fmt"
	"slices"
)

// routeList is one project's routes as cached: never modified once
// published, only replaced.
type routeList struct {
	routes  []Route // evaluation order
	version uint64
}

// CachedRoutes returns the routes of project in evaluation order and a
// version that changes with every change of them, for the data plane to
// recompile its matcher only when needed. The slice, its routes and
// their slices are shared and must not be modified; a change replaces
// them as a whole, so a slice once returned stays as it was. A project
// without routes gives an empty slice; its version is 0 only if it has had
// none since the store was opened (an unknown project also gives nil, 0).
// It does not allocate.
func (s *Store) CachedRoutes(projectID []byte) (routes []Route, version uint64) {
	s.cache.mu.RLock()
	l := s.cache.routes[string(projectID)]
	s.cache.mu.RUnlock()
	return l.routes, l.version
}

// routesWith returns a new list of project's cached routes with route id
// replaced by r (removed when r is nil; added when absent), in evaluation
// order. The caller holds s.writeMu, so the cache is the committed state.
func (c *authCache) routesWith(projectID, id string, r *Route) []Route {
	c.mu.RLock()
	cur := c.routes[projectID].routes
	c.mu.RUnlock()
	out := make([]Route, 0, len(cur)+1)
	for _, x := range cur {
		if x.ID != id {
			out = append(out, x)
		}
	}
	if r != nil {
		out = append(out, cloneRoute(*r)) // the caller's copy shares nothing with the cache
	}
	slices.SortFunc(out, compareRoutes)
	return out
}

// setRoutes publishes list as project's routes under a new version.
func (c *authCache) setRoutes(projectID string, list []Route) {
	c.mu.Lock()
	c.routeVersion++
	c.routes[projectID] = routeList{routes: list, version: c.routeVersion}
	c.mu.Unlock()
}

// loadRoutes reads every route into the cache. skip decides what an
// unreadable record does.
func (c *authCache) loadRoutes(tx kvTx, skip func(bucket, k []byte, err error) error) error {
	byProject := map[string][]Route{}
	err := tx.Bucket(bucketRoutes).ForEach(func(k, v []byte) error {
		var r Route
		if err := decodeRoute(v, &r); err != nil {
			return skip(bucketRoutes, k, err)
		}
		byProject[r.ProjectID] = append(byProject[r.ProjectID], r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("keystore: load routes: %w", err)
	}
	for id, list := range byProject {
		slices.SortFunc(list, compareRoutes)
		c.setRoutes(id, list)
	}
	return nil
}

// cloneRoute returns r with copies of its slices and phases.
func cloneRoute(r Route) Route {
	r.Methods = slices.Clone(r.Methods)
	r.Request, r.Response = clonePhase(r.Request), clonePhase(r.Response)
	return r
}

func clonePhase(p *RoutePhase) *RoutePhase {
	if p == nil {
		return nil
	}
	c := *p
	c.Fields, c.Require = slices.Clone(p.Fields), slices.Clone(p.Require)
	return &c
}
