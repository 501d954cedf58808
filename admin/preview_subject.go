package admin

import (
	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// previewSubject fills the subject part of a request phase's preview: the
// route's subject_field, and whether the body lacks a non-empty string
// there (the proxy would answer 400 invalid_subject). Never the value.
func previewSubject(field string, root *jsonNode, out *wire.PreviewPhase) {
	if field == "" {
		return
	}
	out.SubjectField = field
	f, err := fieldcrypt.StoredFields([]string{field}) // the route's, as the data plane reads it
	if err != nil || root == nil {
		out.SubjectInvalid = true
		return
	}
	n := find(root, parseFieldPaths(f)[0])
	out.SubjectInvalid = n == nil || n.kind != '"' || n.str == ""
}

// find returns the node at p (no wildcards), or nil.
func find(root *jsonNode, p fieldPath) *jsonNode {
	n := root
	for _, seg := range p.segs {
		var next *jsonNode
		for i := range n.kids {
			if !seg.wild && segMatches(seg, n, i) {
				next = n.kids[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
