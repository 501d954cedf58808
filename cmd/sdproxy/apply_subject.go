package main

import (
	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/keystore"
)

// subjectField decodes a request rule's subject_field: one field path
// without *, in canonical spelling, on an encrypting rule only
// (docs/erasure.md).
func (d *fileDecoder) subjectField(v *yaml.Node, field, mode string) string {
	s, ok := d.str(v, field)
	if !ok || s == "" {
		return ""
	}
	if mode != keystore.ModeEncrypt {
		d.fail(v, field, "only an encrypting request rule takes a subject_field")
		return ""
	}
	name, err := keystore.CanonicalFieldPath(s, false)
	if err != nil {
		d.fail(v, field, "%s", err)
		return ""
	}
	return name
}
