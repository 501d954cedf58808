package wire

import "time"

// Subject is a data subject of a project, as GET and DELETE
// /admin/v1/projects/{id}/subjects/{subject} answer it. It never holds the
// subject id (the caller has it) nor the subject's secret.
type Subject struct {
	ProjectID string `json:"project_id"`
	// Ref is the subject reference: the keyed hash that tokens ("s<ref>")
	// and events show instead of the id.
	Ref string `json:"ref"`
	// State is none (nothing was ever sealed for it), active or erased.
	State     string     `json:"state"`
	CreatedAt *time.Time `json:"created_at"`
	ErasedAt  *time.Time `json:"erased_at"`
	// SealedValues is how many values were sealed for the subject, as
	// counted in the store plus the answering instance's unflushed count
	// (see docs/erasure.md for its accuracy).
	SealedValues uint64 `json:"sealed_values"`
	// Erased, on DELETE only, is true when this call erased the subject and
	// false when it was erased already.
	Erased *bool `json:"erased,omitempty"`
}
