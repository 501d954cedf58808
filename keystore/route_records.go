package keystore

import (
	"encoding/json"
	"time"
)

// routeJSON is a route as stored (see records.go: the public type carries
// no JSON tags).
type routeJSON struct {
	ID        string          `json:"id"`
	ProjectID string          `json:"project_id"`
	Methods   []string        `json:"methods"`
	Path      string          `json:"path"`
	Order     int             `json:"order"`
	Request   *routePhaseJSON `json:"request"`
	Response  *routePhaseJSON `json:"response"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

type routePhaseJSON struct {
	Mode           string           `json:"mode"`
	Fields         []string         `json:"fields"`
	Classification string           `json:"classification,omitempty"`
	Require        []string         `json:"require,omitempty"`
	Index          []routeIndexJSON `json:"index,omitempty"`
	SubjectField   string           `json:"subject_field,omitempty"`
}

func encodeRoute(r Route) ([]byte, error) {
	return json.Marshal(routeJSON{
		ID: r.ID, ProjectID: r.ProjectID, Methods: r.Methods, Path: r.Path, Order: r.Order,
		Request: encodePhase(r.Request), Response: encodePhase(r.Response),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	})
}

func encodePhase(p *RoutePhase) *routePhaseJSON {
	if p == nil {
		return nil
	}
	return &routePhaseJSON{Mode: p.Mode, Fields: p.Fields, Classification: p.Classification, Require: p.Require, Index: encodeIndex(p.Index), SubjectField: p.SubjectField}
}

// decodeRoute decodes a stored route; it copies what it keeps. Lists
// come back empty rather than nil.
func decodeRoute(b []byte, r *Route) error {
	var j routeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Route{
		ID: j.ID, ProjectID: j.ProjectID, Methods: nonNil(j.Methods), Path: j.Path, Order: j.Order,
		Request: decodePhase(j.Request), Response: decodePhase(j.Response),
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	return nil
}

func decodePhase(j *routePhaseJSON) *RoutePhase {
	if j == nil {
		return nil
	}
	return &RoutePhase{Mode: j.Mode, Fields: nonNil(j.Fields), Classification: j.Classification, Require: nonNil(j.Require), Index: decodeIndex(j.Index), SubjectField: j.SubjectField}
}

// putRoute stores r under its project and id.
func putRoute(b kvBucket, r Route) error {
	data, err := encodeRoute(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(routeKey(r.ProjectID, r.ID)), data)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
