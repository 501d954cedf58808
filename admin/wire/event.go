package wire

import "time"

// Event is one entry of the event log as the admin API shows it. Request
// fields are set only on "request" events; Actor and Details only on admin
// events. It never holds a field value or a secret.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// InstanceID names the instance that recorded the event.
	InstanceID string  `json:"instance_id,omitempty"`
	ProjectID  string  `json:"project_id"`
	KeyID      *string `json:"key_id"`

	Method         string   `json:"method,omitempty"`
	Path           string   `json:"path,omitempty"`
	Mode           string   `json:"mode,omitempty"`
	Fields         []string `json:"fields,omitzero"` // a request event's, maybe [] (none); nil for others
	Classification *string  `json:"classification,omitempty"`
	Destination    *string  `json:"destination,omitempty"`
	Geofence       *string  `json:"geofence,omitempty"`
	Status         int      `json:"status,omitempty"`
	LatencyMS      float64  `json:"latency_ms,omitempty"`
	UpstreamMS     float64  `json:"upstream_ms,omitempty"` // of LatencyMS, the upstream's
	RequestID      string   `json:"request_id,omitempty"`
	ClientIP       string   `json:"client_ip,omitempty"`
	RateLimited    *bool    `json:"rate_limited,omitempty"`
	RouteID        string   `json:"route_id,omitempty"`
	ResponseFields []string `json:"response_fields,omitempty"`
	RequestValues  int      `json:"request_values,omitempty"`
	ResponseValues int      `json:"response_values,omitempty"`
	Untransformed  int      `json:"untransformed,omitempty"`
	// Subject is the reference of the data subject a request sealed for
	// (never the subject id).
	Subject string `json:"subject,omitempty"`

	Actor   string            `json:"actor,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// VerifyResult is the answer of GET /admin/v1/events/verify.
type VerifyResult struct {
	OK       bool    `json:"ok"`
	Checked  uint64  `json:"checked"`
	FirstSeq uint64  `json:"first_seq"`
	LastSeq  uint64  `json:"last_seq"`
	Broken   *Broken `json:"first_broken,omitempty"`
	// Pruned is how many failed-authentication entries retention removed
	// from inside the chain (stepped over by signed records).
	Pruned uint64 `json:"pruned,omitempty"`
	// HeadUnsigned: a log written before heads were signed, not yet
	// opened for writing since; a cut tail shows only with a checkpoint.
	HeadUnsigned bool `json:"head_unsigned,omitempty"`
}

// Broken names the first entry that fails verification and why.
type Broken struct {
	Seq    uint64 `json:"seq"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// EventPage is the answer of GET /admin/v1/projects/{id}/events: a Page
// of events, newest first, and, when the logs of several instances are
// merged, the instances that did not answer in time (their events are
// missing from this page). A merged first page, and every answer to
// after=<follow cursor>, also carries FollowCursor: pass it as after= to
// get only the events recorded since, on any instance.
type EventPage struct {
	Items        []Event  `json:"items"`
	NextCursor   *string  `json:"next_cursor"`
	Unreachable  []string `json:"unreachable,omitempty"`
	FollowCursor *string  `json:"follow_cursor,omitempty"`
}

// InstanceVerify is one instance's part of GET
// /admin/v1/events/verify?all=1: its chain's verification, or why it has
// none (Error: "unreachable: …").
type InstanceVerify struct {
	InstanceID string        `json:"instance_id"`
	Result     *VerifyResult `json:"result"`
	Error      string        `json:"error,omitempty"`
}

// VerifyAll is the answer of GET /admin/v1/events/verify?all=1: OK when
// every live instance answered and its chain is intact.
type VerifyAll struct {
	OK        bool             `json:"ok"`
	Instances []InstanceVerify `json:"instances"`
}
