package keystore

import (
	"encoding/json"
	"time"
)

// The stored form of projects and keys. It is private to the store: the
// public types carry no JSON tags, so renaming a stored field can never
// change the admin API (which maps to its own wire types), and the admin
// API's names can change without touching what is on disk.

// projectJSON is a project as stored.
type projectJSON struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Environment   string        `json:"environment"`
	Upstream      string        `json:"upstream"`
	Destinations  []string      `json:"destinations"`
	RateLimit     rateLimitJSON `json:"rate_limit"`
	MaxActiveKeys int           `json:"max_active_keys"`
	BindFields    bool          `json:"bind_fields,omitempty"`
	UpstreamCA    string        `json:"upstream_ca,omitempty"`
	// UpstreamClientCert and the sealed key (nonce || AES-256-GCM of the
	// PEM key || tag) are set together.
	UpstreamClientCert      string    `json:"upstream_client_cert,omitempty"`
	UpstreamClientKeySealed []byte    `json:"upstream_client_key_sealed,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
}

type rateLimitJSON struct {
	RequestsPerSecond float64 `json:"requests_per_second"`
	Burst             int     `json:"burst"`
}

// keyJSON is an API key as stored: the public record and the keyed hash.
type keyJSON struct {
	ID              string      `json:"id"`
	ProjectID       string      `json:"project_id"`
	Name            string      `json:"name"`
	Permissions     []string    `json:"permissions"`
	Classifications []string    `json:"classifications"`
	CreatedAt       time.Time   `json:"created_at"`
	LastUsedAt      *time.Time  `json:"last_used_at"`
	RevokedAt       *time.Time  `json:"revoked_at"`
	ExpiresAt       *time.Time  `json:"expires_at"`
	RotatedTo       string      `json:"rotated_to,omitempty"`
	DecryptBudget   *budgetJSON `json:"decrypt_budget,omitempty"`
	Hash            []byte      `json:"hash"`
}

func encodeProject(p Project) ([]byte, error) {
	return json.Marshal(projectJSON{
		ID: p.ID, Name: p.Name, Environment: p.Environment, Upstream: p.Upstream, Destinations: p.Destinations,
		RateLimit:     rateLimitJSON{p.RateLimit.RequestsPerSecond, p.RateLimit.Burst},
		MaxActiveKeys: p.MaxActiveKeys, BindFields: p.BindFields, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		UpstreamCA: p.UpstreamCA, UpstreamClientCert: p.UpstreamClientCert, UpstreamClientKeySealed: p.clientKeySealed,
	})
}

// decodeProject decodes a stored project; it copies what it keeps.
func decodeProject(b []byte, p *Project) error {
	var j projectJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Project{
		ID: j.ID, Name: j.Name, Environment: j.Environment, Upstream: j.Upstream, Destinations: j.Destinations,
		RateLimit:     RateLimit{j.RateLimit.RequestsPerSecond, j.RateLimit.Burst},
		MaxActiveKeys: j.MaxActiveKeys, BindFields: j.BindFields, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		UpstreamCA: j.UpstreamCA, UpstreamClientCert: j.UpstreamClientCert, clientKeySealed: j.UpstreamClientKeySealed,
	}
	return nil
}

// putProject stores p under its id.
func putProject(b kvBucket, p Project) error {
	data, err := encodeProject(p)
	if err != nil {
		return err
	}
	return b.Put([]byte(p.ID), data)
}

// getProject reads project id, or returns ErrProjectNotFound.
func getProject(b kvBucket, id string, p *Project) error {
	data := b.Get([]byte(id))
	if data == nil {
		return ErrProjectNotFound
	}
	return decodeProject(data, p)
}

// MarshalJSON encodes the stored form of a key.
func (r *keyRecord) MarshalJSON() ([]byte, error) {
	k := &r.Key
	return json.Marshal(keyJSON{
		ID: k.ID, ProjectID: k.ProjectID, Name: k.Name, Permissions: k.Permissions, Classifications: k.Classifications,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, ExpiresAt: k.ExpiresAt,
		RotatedTo: k.RotatedTo, DecryptBudget: encodeBudget(k.DecryptBudget), Hash: r.Hash,
	})
}

// UnmarshalJSON decodes the stored form of a key.
func (r *keyRecord) UnmarshalJSON(b []byte) error {
	var j keyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = keyRecord{Key: Key{
		ID: j.ID, ProjectID: j.ProjectID, Name: j.Name, Permissions: j.Permissions, Classifications: j.Classifications,
		CreatedAt: j.CreatedAt, LastUsedAt: j.LastUsedAt, RevokedAt: j.RevokedAt, ExpiresAt: j.ExpiresAt,
		RotatedTo: j.RotatedTo, DecryptBudget: decodeBudget(j.DecryptBudget),
	}, Hash: j.Hash}
	return nil
}
