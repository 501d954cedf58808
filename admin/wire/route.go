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
// "" and Require [] when not set.
type RequestRule struct {
	Mode           string   `json:"mode"`
	Fields         []string `json:"fields"`
	Classification string   `json:"classification"`
	Require        []string `json:"require"`
	// SubjectField is the body path whose value is the data subject the
	// values are sealed for (docs/erasure.md); absent when none.
	SubjectField string `json:"subject_field,omitempty"`
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
// on a response rule (decrypt); Classification and Require belong to a
// request rule only.
type RuleInput struct {
	Mode           string   `json:"mode,omitempty"`
	Fields         []string `json:"fields"`
	Classification string   `json:"classification,omitempty"`
	Require        []string `json:"require,omitempty"`
	SubjectField   string   `json:"subject_field,omitempty"`
}
