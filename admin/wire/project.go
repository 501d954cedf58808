package wire

import "time"

// RateLimit is a token bucket per API key.
type RateLimit struct {
	RequestsPerSecond float64 `json:"requests_per_second"`
	Burst             int     `json:"burst"`
}

// Project is a project as the admin API shows it.
type Project struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Environment   string    `json:"environment"`
	Upstream      string    `json:"upstream"`
	Destinations  []string  `json:"destinations"`
	RateLimit     RateLimit `json:"rate_limit"`
	MaxActiveKeys int       `json:"max_active_keys"`
	BindFields    bool      `json:"bind_fields"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// ProjectInput is the body of a project create (POST) or update (PATCH);
// a nil field is left as it is (or at its default on create).
type ProjectInput struct {
	Name          *string    `json:"name"`
	Environment   *string    `json:"environment"`
	Upstream      *string    `json:"upstream"`
	Destinations  *[]string  `json:"destinations"`
	RateLimit     *RateLimit `json:"rate_limit"`
	MaxActiveKeys *int       `json:"max_active_keys"`
	BindFields    *bool      `json:"bind_fields,omitempty"`
}
