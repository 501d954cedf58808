package admin

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// Mappings between the store's and the event log's records and the admin
// API's wire types. Nothing else turns a storage type into JSON.

func projectView(p keystore.Project) wire.Project {
	return wire.Project{
		ID: p.ID, Name: p.Name, Environment: p.Environment, Upstream: p.Upstream, Destinations: p.Destinations,
		RateLimit:     wire.RateLimit{RequestsPerSecond: p.RateLimit.RequestsPerSecond, Burst: p.RateLimit.Burst},
		MaxActiveKeys: p.MaxActiveKeys, BindFields: p.BindFields, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		UpstreamCA: p.UpstreamCA, UpstreamClientCert: p.UpstreamClientCert, UpstreamClientKeySet: p.HasUpstreamClientKey(),
	}
}

func projectInput(in wire.ProjectInput) keystore.ProjectInput {
	out := keystore.ProjectInput{
		Name: in.Name, Environment: in.Environment, Upstream: in.Upstream,
		Destinations: in.Destinations, MaxActiveKeys: in.MaxActiveKeys, BindFields: in.BindFields,
		UpstreamCA: in.UpstreamCA, UpstreamClientCert: in.UpstreamClientCert,
		UpstreamClientKey: (*keystore.PrivateKeyPEM)(in.UpstreamClientKey),
	}
	if in.RateLimit != nil {
		out.RateLimit = &keystore.RateLimit{RequestsPerSecond: in.RateLimit.RequestsPerSecond, Burst: in.RateLimit.Burst}
	}
	return out
}

// keyView shows k with its status at now.
func keyView(k keystore.Key, now time.Time) wire.Key {
	v := wire.Key{
		ID: k.ID, ProjectID: k.ProjectID, Name: k.Name, Permissions: k.Permissions, Classifications: k.Classifications,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, ExpiresAt: k.ExpiresAt,
		RotatedTo: k.RotatedTo, Status: k.Status(now),
		DecryptBudget: budgetView(k.DecryptBudget),
	}
	if u := k.BudgetUsage; u != nil {
		used, left, end := u.Used, u.Remaining, u.WindowEnd
		v.DecryptBudgetUsed, v.DecryptBudgetRemaining, v.DecryptBudgetWindowEnd = &used, &left, &end
	}
	return v
}

func budgetView(b *keystore.Budget) *wire.Budget {
	if b == nil {
		return nil
	}
	return &wire.Budget{Values: json.Number(strconv.FormatUint(b.Values, 10)), Per: keystore.FormatPer(b.Per)}
}

func dataKeyView(d keystore.DataKeyInfo) wire.DataKey {
	return wire.DataKey{Version: d.Version, Status: d.Status, CreatedAt: d.CreatedAt, Seals: d.Seals}
}

func eventView(e events.Event) wire.Event {
	return wire.Event{
		ID: e.ID, Type: e.Type, Time: e.Time, InstanceID: e.InstanceID, ProjectID: e.ProjectID, KeyID: e.KeyID,
		Method: e.Method, Path: e.Path, Mode: e.Mode, Fields: e.Fields, Classification: e.Classification,
		Destination: e.Destination, Geofence: e.Geofence, Status: e.Status, LatencyMS: e.LatencyMS, UpstreamMS: e.UpstreamMS,
		RequestID: e.RequestID, ClientIP: e.ClientIP, RateLimited: e.RateLimited,
		RouteID: e.RouteID, ResponseFields: e.ResponseFields,
		RequestValues: e.RequestValues, ResponseValues: e.ResponseValues, Untransformed: e.Untransformed,
		Subject: e.Subject,
		Actor:   e.Actor, Details: e.Details,
	}
}

// VerifyView is the wire form of a verification (also used by the CLI
// when it verifies a stopped data directory itself).
func VerifyView(r events.VerifyResult) wire.VerifyResult {
	out := wire.VerifyResult{OK: r.OK, Checked: r.Checked, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, Pruned: r.Pruned, HeadUnsigned: r.HeadUnsigned}
	if r.Broken != nil {
		out.Broken = &wire.Broken{Seq: r.Broken.Seq, ID: r.Broken.ID, Reason: r.Broken.Reason}
	}
	return out
}
