package wire

import (
	"encoding/json"
	"time"
)

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
	// DecryptBudget is null for a key without one. The three fields
	// after it describe the current window (null without a budget):
	// values decrypted or reserved by instances (Used), what is left,
	// and when the window ends.
	DecryptBudget          *Budget    `json:"decrypt_budget"`
	DecryptBudgetUsed      *uint64    `json:"decrypt_budget_used"`
	DecryptBudgetRemaining *uint64    `json:"decrypt_budget_remaining"`
	DecryptBudgetWindowEnd *time.Time `json:"decrypt_budget_window_end"`
	Secret                 string     `json:"key,omitempty"`
}

// Budget is a key's decrypt budget: at most Values decrypted values per
// window of Per (a Go duration such as "24h"; windows start at the Unix
// epoch).
type Budget struct {
	Values json.Number `json:"values"`
	Per    string      `json:"per"`
}

// KeyInput is the body of a key create. ExpiresAt is an RFC 3339 time.
type KeyInput struct {
	Name            string   `json:"name,omitempty"`
	Permissions     []string `json:"permissions,omitempty"`
	Classifications []string `json:"classifications,omitempty"`
	ExpiresAt       *string  `json:"expires_at,omitempty"`
	DecryptBudget   *Budget  `json:"decrypt_budget,omitempty"`
}

// KeyUpdate is the body of PATCH …/keys/{id}: DecryptBudget is a Budget
// to set, or null to remove the key's budget.
type KeyUpdate struct {
	DecryptBudget json.RawMessage `json:"decrypt_budget"`
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
