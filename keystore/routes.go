package keystore

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Routes are a project's server-side rules: which fields of a request
// the proxy transforms before forwarding it, and which fields of the
// upstream's answer it transforms before the client sees it, chosen by
// method and path. The first route that matches, in evaluation order
// (Order, then CreatedAt, then ID), applies.

// Route modes.
const (
	ModeEncrypt = "encrypt"
	ModeDecrypt = "decrypt"
)

// Route is one route rule of a project. A Route returned by CachedRoutes
// is shared: neither it nor its slices may be modified.
type Route struct {
	ID        string // "rt_" and 12 base36 characters
	ProjectID string
	// Methods are upper-case HTTP methods; empty means any method.
	Methods []string
	// Path is the pattern matched against the request path after
	// /proxy/{project-id}: "/" and '/'-separated segments, each a
	// literal, "*" (exactly one segment) or "**" (any number, none
	// included). "/" alone matches only the root.
	Path string
	// Order ranks the route: lower first; ties go to the older route,
	// then to the smaller id.
	Order int
	// Request is the rule for the request body; nil means none.
	Request *RoutePhase
	// Response is the rule for the upstream's answer; nil means none.
	Response *RoutePhase
	// A route with neither rule still matches: it keeps the routes after
	// it from applying to its paths.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RoutePhase is what a route does to one direction's JSON body.
type RoutePhase struct {
	// Mode is ModeEncrypt or ModeDecrypt. A request rule must name it; a
	// response rule given none decrypts.
	Mode string
	// Fields are the paths transformed, in the X-Qanapi-Fields syntax
	// (dot paths, '*' wildcard, `a\.b` escaping), stored in canonical
	// spelling without duplicates; at least one, at most MaxRouteFields.
	Fields []string
	// Classification is the classification slug of the request rule's
	// tokens; empty means none. A response rule has none.
	Classification string
	// Require lists paths (no '*') that a request must hold, else it is
	// refused; a response rule has none. Empty, never nil, on a stored
	// route.
	Require []string
	// Index lists the blind indexes an encrypting request rule writes
	// (see RouteIndex); a response rule has none. Empty, never nil, on a
	// stored route.
	Index []RouteIndex
	// SubjectField, on an encrypting request rule, is the path (no '*') of
	// a string field of the body whose value is the data subject the
	// request's values are sealed for (subjects.go); the field itself is
	// not encrypted unless named in Fields. Empty means none.
	SubjectField string
}

// RouteInput is a whole route to create or to replace one with. Its
// phases are validated and normalised; the input itself is not changed.
type RouteInput struct {
	Methods  []string
	Path     string
	Order    int
	Request  *RoutePhase
	Response *RoutePhase
}

// compareRoutes orders routes for evaluation: Order, CreatedAt, ID.
func compareRoutes(a, b Route) int {
	if c := cmp.Compare(a.Order, b.Order); c != 0 {
		return c
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func routeKey(projectID, routeID string) string { return projectID + "/" + routeID }

// CreateRoute validates in and adds it to project as a new route. A
// project holds at most MaxRoutes routes (ErrRouteLimit). The request
// rule's classification must be defined in the project (a *FieldError
// naming "request.classification" otherwise).
func (s *Store) CreateRoute(projectID string, in RouteInput) (Route, error) {
	r, err := normalizeRoute(in)
	if err != nil {
		return Route{}, fmt.Errorf("keystore.CreateRoute %s: %w", projectID, err)
	}
	suffix, err := randomString(s.opts.Rand, base36, 12)
	if err != nil {
		return Route{}, err
	}
	now := s.now()
	r.ID, r.ProjectID, r.CreatedAt, r.UpdatedAt = "rt_"+suffix, projectID, now, now
	var list []Route
	err = s.update(func(tx kvTx) error {
		if err := requireProject(tx, projectID); err != nil {
			return err
		}
		if err := checkRouteClassification(tx, projectID, &r); err != nil {
			return err
		}
		b := tx.Bucket(bucketRoutes)
		if countPrefix(b, projectID+"/") >= MaxRoutes {
			return ErrRouteLimit
		}
		if b.Get([]byte(routeKey(projectID, r.ID))) != nil {
			return fmt.Errorf("keystore: route id collision %s", r.ID)
		}
		list = s.cache.routesWith(projectID, r.ID, &r)
		return putRoute(b, r)
	}, func() { s.cache.setRoutes(projectID, list) })
	if err != nil {
		return Route{}, fmt.Errorf("keystore.CreateRoute %s: %w", projectID, err)
	}
	return r, nil
}

// UpdateRoute replaces route routeID of project with in, as a PUT does:
// every field takes in's value. The id and creation time stay.
func (s *Store) UpdateRoute(projectID, routeID string, in RouteInput) (Route, error) {
	r, err := normalizeRoute(in)
	if err != nil {
		return Route{}, fmt.Errorf("keystore.UpdateRoute %s: %w", routeID, err)
	}
	var list []Route
	err = s.update(func(tx kvTx) error {
		var old Route
		if err := getRoute(tx, projectID, routeID, &old); err != nil {
			return err
		}
		if err := checkRouteClassification(tx, projectID, &r); err != nil {
			return err
		}
		r.ID, r.ProjectID, r.CreatedAt, r.UpdatedAt = old.ID, old.ProjectID, old.CreatedAt, s.now()
		list = s.cache.routesWith(projectID, routeID, &r)
		return putRoute(tx.Bucket(bucketRoutes), r)
	}, func() { s.cache.setRoutes(projectID, list) })
	if err != nil {
		return Route{}, fmt.Errorf("keystore.UpdateRoute %s: %w", routeID, err)
	}
	return r, nil
}

// DeleteRoute removes route routeID of project and returns it as it was.
func (s *Store) DeleteRoute(projectID, routeID string) (Route, error) {
	var r Route
	var list []Route
	err := s.update(func(tx kvTx) error {
		if err := getRoute(tx, projectID, routeID, &r); err != nil {
			return err
		}
		list = s.cache.routesWith(projectID, routeID, nil)
		return tx.Bucket(bucketRoutes).Delete([]byte(routeKey(projectID, routeID)))
	}, func() { s.cache.setRoutes(projectID, list) })
	if err != nil {
		return Route{}, fmt.Errorf("keystore.DeleteRoute %s: %w", routeID, err)
	}
	return r, nil
}

// Route returns route routeID of project.
func (s *Store) Route(projectID, routeID string) (Route, error) {
	var r Route
	err := s.kv.View(func(tx kvTx) error { return getRoute(tx, projectID, routeID, &r) })
	if err != nil {
		return Route{}, fmt.Errorf("keystore.Route %s: %w", routeID, err)
	}
	return r, nil
}

// Routes returns the routes of project in evaluation order. The slice is
// the caller's.
func (s *Store) Routes(projectID string) ([]Route, error) {
	var out []Route
	err := s.kv.View(func(tx kvTx) error {
		if err := requireProject(tx, projectID); err != nil {
			return err
		}
		var err error
		out, err = projectRoutes(tx, projectID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.Routes %s: %w", projectID, err)
	}
	return out, nil
}

func requireProject(tx kvTx, projectID string) error {
	if tx.Bucket(bucketProjects).Get([]byte(projectID)) == nil {
		return ErrProjectNotFound
	}
	return nil
}

// getRoute reads route routeID of project, or returns ErrRouteNotFound
// (also when the project does not exist).
func getRoute(tx kvTx, projectID, routeID string, r *Route) error {
	data := tx.Bucket(bucketRoutes).Get([]byte(routeKey(projectID, routeID)))
	if data == nil {
		return ErrRouteNotFound
	}
	return decodeRoute(data, r)
}

// projectRoutes reads every route of project, in evaluation order.
func projectRoutes(tx kvTx, projectID string) ([]Route, error) {
	out := []Route{}
	err := tx.Bucket(bucketRoutes).ForEachPrefix([]byte(projectID+"/"), func(_, v []byte) error {
		var r Route
		if err := decodeRoute(v, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, compareRoutes)
	return out, nil
}
