package keystore

import "strings"

// normalizeSubjectField validates a rule's subject_field: only an
// encrypting request rule takes one, and it is one field path without
// '*' (its value must name one subject). It returns the canonical
// spelling, or "" for none.
func normalizeSubjectField(phase, mode, field string) (string, error) {
	if strings.TrimSpace(field) == "" {
		return "", nil
	}
	name := phase + ".subject_field"
	if phase != "request" || mode != ModeEncrypt {
		return "", invalid(name, "only an encrypting request rule takes a subject_field")
	}
	paths, err := normalizeFieldPaths(name, []string{field}, false)
	if err != nil {
		return "", invalid(name, "%q must be one field path without * (e.g. user.id)", field)
	}
	return paths[0], nil
}
