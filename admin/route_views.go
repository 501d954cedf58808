package admin

import (
	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// Mappings between the store's routes and the admin API's wire types (see
// views.go).

func routeView(r keystore.Route) wire.Route {
	v := wire.Route{
		ID: r.ID, ProjectID: r.ProjectID, Methods: nonNil(r.Methods), Path: r.Path, Order: r.Order,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if p := r.Request; p != nil {
		v.Request = &wire.RequestRule{Mode: p.Mode, Fields: nonNil(p.Fields), Classification: p.Classification, Require: nonNil(p.Require), Index: indexView(p.Index), SubjectField: p.SubjectField}
	}
	if p := r.Response; p != nil {
		v.Response = &wire.ResponseRule{Mode: p.Mode, Fields: nonNil(p.Fields)}
	}
	return v
}

func routeInput(in wire.RouteInput) keystore.RouteInput {
	return keystore.RouteInput{
		Methods: in.Methods, Path: in.Path, Order: in.Order,
		Request: ruleInput(in.Request), Response: ruleInput(in.Response),
	}
}

func ruleInput(in *wire.RuleInput) *keystore.RoutePhase {
	if in == nil {
		return nil
	}
	return &keystore.RoutePhase{Mode: in.Mode, Fields: in.Fields, Classification: in.Classification, Require: in.Require, Index: indexInput(in.Index), SubjectField: in.SubjectField}
}

func indexView(in []keystore.RouteIndex) []wire.RouteIndex {
	out := make([]wire.RouteIndex, len(in))
	for i, r := range in {
		out[i] = wire.RouteIndex(r)
	}
	return out
}

func indexInput(in []wire.RouteIndex) []keystore.RouteIndex {
	if in == nil {
		return nil
	}
	out := make([]keystore.RouteIndex, len(in))
	for i, r := range in {
		out[i] = keystore.RouteIndex(r)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
