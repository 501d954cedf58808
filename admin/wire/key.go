package wire

import "time"

// Key is an API key as the admin API shows it. Secret (JSON "key") is set
// only in the answer to a create or a rotate, and never again.
type Key struct {
	ID              string     `json:"id"`
	ProjectID       string     `json:"project_id"`
	Name            string     `json:"name"`
	Permissions     []string   `json:"permissions"`
	Classifications []string   `json:"classifications"`
	CreatedAt       time.Time  `json:"created_at"`
	LastUsedAt      *time.Time `json:"last_used_at"`
	RevokedAt       *time.Time `json:"revoked_at"`
	ExpiresAt       *time.Time `json:"expires_at"`
	RotatedTo       string     `json:"rotated_to,omitempty"`
	Status          string     `json:"status"`
	Secret          string     `json:"key,omitempty"`
}

// KeyInput is the body of a key create. ExpiresAt is an RFC 3339 time.
type KeyInput struct {
	Name            string   `json:"name,omitempty"`
	Permissions     []string `json:"permissions,omitempty"`
	Classifications []string `json:"classifications,omitempty"`
	ExpiresAt       *string  `json:"expires_at,omitempty"`
}

// RotateInput is the body of a key rotation. GracePeriod is a Go duration
// ("24h"); empty means 24h.
type RotateInput struct {
	GracePeriod string `json:"grace_period,omitempty"`
}

// DataKey describes one data-key version; it never holds key material.
type DataKey struct {
	Version   uint32    `json:"version"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Seals     uint64    `json:"seals"`
}

// MinDecryptionInput is the body of PATCH …/datakeys.
type MinDecryptionInput struct {
	MinDecryptionVersion *uint32 `json:"min_decryption_version"`
}
