package admin

import (
	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// Mappings between the store's classifications and the admin API's wire
// types (see views.go).

func classificationView(c keystore.Classification) wire.Classification {
	return wire.Classification{
		Slug: c.Slug, Name: c.Name, Description: c.Description,
		Mask:    wire.Mask{ShowFirst: c.Mask.ShowFirst, ShowLast: c.Mask.ShowLast, Char: c.Mask.Char},
		Builtin: c.Builtin, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// classificationInput maps a create or replace body; a mask's members
// left out take the default mask's values.
func classificationInput(in wire.ClassificationInput) keystore.ClassificationInput {
	out := keystore.ClassificationInput{Slug: in.Slug, Name: in.Name, Description: in.Description}
	if m := in.Mask; m != nil {
		mask := keystore.DefaultMask
		if m.ShowFirst != nil {
			mask.ShowFirst = *m.ShowFirst
		}
		if m.ShowLast != nil {
			mask.ShowLast = *m.ShowLast
		}
		if m.Char != nil {
			mask.Char = *m.Char
		}
		out.Mask = &mask
	}
	return out
}
