package wire

import "encoding/json"

// PreviewInput is the body of POST /admin/v1/projects/{id}/preview: a
// request as the data plane would see it, and optionally the upstream's
// answer. Body and ResponseBody are JSON values, embedded as they are (a
// JSON string is a body that is a string, never parsed again); absent
// means no body. Fields and Mode stand for X-Qanapi-Fields and
// X-Qanapi-Mode, ResponseFields and ResponseMode for
// X-Qanapi-Response-Fields and X-Qanapi-Response-Mode, Index for
// X-Qanapi-Index (entries "path[:normalization]"); absent means the header
// is not sent.
type PreviewInput struct {
	Method         string          `json:"method"`
	Path           string          `json:"path"`
	Body           json.RawMessage `json:"body,omitempty"`
	ResponseBody   json.RawMessage `json:"response_body,omitempty"`
	Fields         []string        `json:"fields,omitempty"`
	Mode           string          `json:"mode,omitempty"`
	ResponseFields []string        `json:"response_fields,omitempty"`
	ResponseMode   string          `json:"response_mode,omitempty"`
	Index          []string        `json:"index,omitempty"`
}

// Preview is what the proxy would do to a request and its answer. It holds
// paths, kinds and counts, never a value of either body. Route is null
// when no route matches; Response is null when the input has no
// response_body.
type Preview struct {
	Route    *PreviewRoute `json:"route"`
	Request  PreviewPhase  `json:"request"`
	Response *PreviewPhase `json:"response"`
	Hints    []PreviewHint `json:"hints"`
}

// PreviewRoute is the route that would apply. Methods is [] for any.
type PreviewRoute struct {
	ID      string   `json:"id"`
	Path    string   `json:"path"`
	Order   int      `json:"order"`
	Methods []string `json:"methods"`
}

// PreviewPhase is one direction of a preview. Paths use the
// X-Qanapi-Fields syntax with array indices written *.
type PreviewPhase struct {
	// Mode is "encrypt" or "decrypt", or "none" when no field applies.
	Mode string `json:"mode"`
	// Named are the field paths that apply: the route's, then those the
	// input's fields add.
	Named []string `json:"named"`
	// Fields are the paths of the body's values that would be
	// transformed, in document order, each once.
	Fields []string `json:"fields"`
	// Values is how many values would be transformed.
	Values int `json:"values"`
	// Absent are the named paths that match nothing in the body.
	Absent []string `json:"absent"`
	// MissingRequired are the route's required paths the body lacks: the
	// proxy would refuse the request (422 field_missing). Always [] in a
	// response.
	MissingRequired []string `json:"missing_required"`
	// NotTokens, in decrypt mode, are the transformed paths whose value is
	// not a token: a request would be refused (422 not_a_token); an answer
	// passes them unchanged.
	NotTokens []string `json:"not_tokens"`
	// Index are the blind indexes the request would get, one per rule
	// (the route's, then the input's); always [] in a response.
	Index []PreviewIndex `json:"index"`
	// SubjectField is the route's subject_field (request phase), absent
	// when none; SubjectInvalid says the body holds no non-empty string
	// there, so the proxy would refuse the request (400 invalid_subject).
	SubjectField   string `json:"subject_field,omitempty"`
	SubjectInvalid bool   `json:"subject_invalid,omitempty"`
}

// PreviewIndex is one blind-index rule of a preview: which sibling paths
// it would write and replace. It never holds a value or an index.
type PreviewIndex struct {
	Field     string `json:"field"`
	Normalize string `json:"normalize"`
	Name      string `json:"name"`
	Bytes     int    `json:"bytes"`
	// Written are the sibling paths that would be written, * for indices.
	Written []string `json:"written"`
	// Values is how many indexes would be written.
	Values int `json:"values"`
	// Replaced are the sibling paths already in the body (in any ASCII
	// letter case) that would be replaced.
	Replaced []string `json:"replaced"`
	// NotScalar are the paths holding an object or array: the proxy
	// would refuse the request (422 index_not_scalar).
	NotScalar []string `json:"not_scalar"`
}

// PreviewHint is a value that looks like personal data or a secret and
// that nothing in its phase transforms. It never holds the value.
type PreviewHint struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Phase is "request" or "response".
	Phase string `json:"phase"`
}
