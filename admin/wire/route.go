package wire

import "time"

// Route is a project's route rule as the admin API shows it. Request and
// Response are null when the route has no rule for that direction;
// Methods is [] when any method matches.
type Route struct {
	ID        string        `json:"id"`
	ProjectID string        `json:"project_id"`
	Methods   []string      `json:"methods"`
	Path      string        `json:"path"`
	Order     int           `json:"order"`
	Request   *RequestRule  `json:"request"`
	Response  *ResponseRule `json:"response"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// RequestRule is what a route does to the request body. Classification is
// "" and Require [] when not set; Index is left out when the rule writes
// no blind index.
type RequestRule struct {
	Mode           string       `json:"mode"`
	Fields         []string     `json:"fields"`
	Classification string       `json:"classification"`
	Require        []string     `json:"require"`
	Index          []RouteIndex `json:"index,omitempty"`
	// SubjectField is the body path whose value is the data subject the
	// values are sealed for (docs/erasure.md); absent when none.
	SubjectField string `json:"subject_field,omitempty"`
}

// RouteIndex is a blind index an encrypting request rule writes beside one
// of its fields (docs/blind-index.md). In a route shown, every member is
// set: normalize "exact", name "<last key>_bidx" and bytes 16 when the
// input left them out.
type RouteIndex struct {
	Field     string `json:"field"`
	Normalize string `json:"normalize,omitempty"`
	Name      string `json:"name,omitempty"`
	Bytes     int    `json:"bytes,omitempty"`
}

// ResponseRule is what a route does to the upstream's answer.
type ResponseRule struct {
	Mode   string   `json:"mode"`
	Fields []string `json:"fields"`
}

// RouteInput is the body of a route create (POST) or replace (PUT): the
// whole route, absent fields at their zero value (methods: any; order: 0;
// request, response: no rule).
type RouteInput struct {
	Methods  []string   `json:"methods,omitempty"`
	Path     string     `json:"path"`
	Order    int        `json:"order,omitempty"`
	Request  *RuleInput `json:"request,omitempty"`
	Response *RuleInput `json:"response,omitempty"`
}

// RuleInput is one direction's rule in a RouteInput. Mode may be omitted
// on a response rule (decrypt); Classification, Require and Index belong
// to a request rule only, Index to an encrypting one.
type RuleInput struct {
	Mode           string       `json:"mode,omitempty"`
	Fields         []string     `json:"fields"`
	Classification string       `json:"classification,omitempty"`
	Require        []string     `json:"require,omitempty"`
	Index          []RouteIndex `json:"index,omitempty"`
	SubjectField   string       `json:"subject_field,omitempty"`
}
