package main

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// decodeIndex decodes a request rule's index list (after its mode and
// fields) and returns it as the server stores it, defaults filled in.
func (d *fileDecoder) decodeIndex(n *yaml.Node, field string, r *wire.RequestRule) []wire.RouteIndex {
	elems, ok := d.list(n, field)
	if !ok {
		return []wire.RouteIndex{}
	}
	in := make([]keystore.RouteIndex, 0, len(elems))
	for i, e := range elems {
		f := elemPath(field, i)
		m := d.mapping(e, f, policyIndexKeys)
		if m == nil {
			continue
		}
		var x keystore.RouteIndex
		if v := m["field"]; v == nil {
			d.missing(e, f, "field", "is required: one of the rule's fields")
		} else if s, ok := d.str(v, f+".field"); ok {
			x.Field = s
		}
		if v := m["normalize"]; v != nil {
			x.Normalize, _ = d.str(v, f+".normalize")
		}
		if v := m["name"]; v != nil {
			x.Name, _ = d.str(v, f+".name")
		}
		if v := m["bytes"]; v != nil {
			x.Bytes, _ = d.integer(v, f+".bytes", 4, 32)
		}
		in = append(in, x)
	}
	if len(in) != len(elems) || r.Mode == "" || r.Fields == nil {
		return []wire.RouteIndex{} // problems reported already
	}
	norm, err := keystore.NormalizeIndex(r.Mode, r.Fields, in)
	if err != nil {
		msg := err.Error()
		if fe, ok := err.(*keystore.FieldError); ok {
			msg = strings.TrimPrefix(fe.Field, "request.") + ": " + fe.Msg
		}
		d.fail(n, field, "%s", msg)
		return []wire.RouteIndex{}
	}
	out := make([]wire.RouteIndex, len(norm))
	for i, x := range norm {
		out[i] = wire.RouteIndex(x)
	}
	return out
}

// indexStrings spells index rules for a diff: "field:normalize=name/bytes".
func indexStrings(list []wire.RouteIndex) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.Field + ":" + r.Normalize + "=" + r.Name + "/" + strconv.Itoa(r.Bytes)
	}
	return out
}
