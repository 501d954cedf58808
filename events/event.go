package events

import "time"

// Event types.
const (
	TypeRequest          = "request"
	TypeProjectCreated   = "project.created"
	TypeProjectUpdated   = "project.updated"
	TypeProjectDeleted   = "project.deleted"
	TypeKeyCreated       = "key.created"
	TypeKeyRevoked       = "key.revoked"
	TypeKeyRotated       = "key.rotated"
	TypeKeyExpired       = "key.expired"
	TypeDataKeyRotated   = "datakey.rotated"
	TypeDataKeyMinChange = "datakey.min_decryption_version"
)

// Event is one entry of the log as stored and as the admin API shows it.
// Request fields are set only on "request" events; Actor and Details only
// on admin events. It never holds a field value or a secret.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	ProjectID string    `json:"project_id"`
	KeyID     *string   `json:"key_id"`

	Method         string   `json:"method,omitempty"`
	Path           string   `json:"path,omitempty"`
	Mode           string   `json:"mode,omitempty"`
	Fields         []string `json:"fields,omitempty"`
	Classification *string  `json:"classification,omitempty"`
	Destination    *string  `json:"destination,omitempty"`
	Geofence       *string  `json:"geofence,omitempty"`
	Status         int      `json:"status,omitempty"`
	LatencyMS      float64  `json:"latency_ms,omitempty"`
	RequestID      string   `json:"request_id,omitempty"`
	ClientIP       string   `json:"client_ip,omitempty"`
	RateLimited    *bool    `json:"rate_limited,omitempty"`

	Actor   string            `json:"actor,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// Request is the record of one data-plane request, filled on the request
// path and handed to Log.Submit. Requests are pooled: byte slices are
// copied in with the Set methods and reused, so recording allocates
// nothing in steady state. Only names of fields are kept, never values.
type Request struct {
	Time        time.Time
	ProjectID   string // a known project's id (shared, not copied), or ""
	KeyID       string // the authenticated key's id, or ""
	Mode        string
	Status      int
	Latency     time.Duration
	RateLimited bool

	method, path, fields, class, dest, geofence, requestID, clientIP []byte
}

// SetMethod and the other Set methods copy b into the record.
func (r *Request) SetMethod(b []byte)         { r.method = append(r.method[:0], b...) }
func (r *Request) SetPath(b []byte)           { r.path = append(r.path[:0], b...) }
func (r *Request) SetFields(b []byte)         { r.fields = append(r.fields[:0], b...) }
func (r *Request) SetClassification(b []byte) { r.class = append(r.class[:0], b...) }
func (r *Request) SetDestination(b []byte)    { r.dest = append(r.dest[:0], b...) }
func (r *Request) SetGeofence(b []byte)       { r.geofence = append(r.geofence[:0], b...) }
func (r *Request) SetRequestID(b []byte)      { r.requestID = append(r.requestID[:0], b...) }
func (r *Request) SetClientIP(b []byte)       { r.clientIP = append(r.clientIP[:0], b...) }

// FieldCount is how many field names the request named.
func (r *Request) FieldCount() int {
	n := 0
	forEachField(r.fields, func([]byte) { n++ })
	return n
}

func (r *Request) reset() {
	*r = Request{
		method: r.method[:0], path: r.path[:0], fields: r.fields[:0], class: r.class[:0],
		dest: r.dest[:0], geofence: r.geofence[:0], requestID: r.requestID[:0], clientIP: r.clientIP[:0],
	}
}
