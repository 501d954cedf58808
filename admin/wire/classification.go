package wire

import "time"

// Classification is a project's classification as the admin API shows it.
// Builtin is true only for "none", the classification of untagged tokens,
// which every project has and which cannot be changed or deleted (its
// times are the project's creation time).
type Classification struct {
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Mask        Mask      `json:"mask"`
	Builtin     bool      `json:"builtin"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Mask is how a key with decrypt_masked (and not decrypt) sees a value:
// ShowFirst leading and ShowLast trailing characters shown, every other
// one replaced by Char.
type Mask struct {
	ShowFirst int    `json:"show_first"`
	ShowLast  int    `json:"show_last"`
	Char      string `json:"char"`
}

// ClassificationInput is the body of a classification create (POST) or
// replace (PUT): the whole classification. Slug is required on a create;
// on a replace it may be omitted or repeat the slug of the path (it cannot
// change). Name omitted means the slug; Mask omitted means the default
// mask {"show_first": 0, "show_last": 4, "char": "*"}, and so does each
// member omitted from a Mask given.
type ClassificationInput struct {
	Slug        string     `json:"slug,omitempty"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Mask        *MaskInput `json:"mask,omitempty"`
}

// MaskInput is a Mask in an input: members omitted take the default
// mask's values.
type MaskInput struct {
	ShowFirst *int    `json:"show_first,omitempty"`
	ShowLast  *int    `json:"show_last,omitempty"`
	Char      *string `json:"char,omitempty"`
}
