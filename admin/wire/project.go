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
	// UpstreamCA is the PEM CA certificates the upstream and destinations
	// are verified against ("": the system's roots).
	UpstreamCA string `json:"upstream_ca"`
	// UpstreamClientCert is the PEM client certificate chain presented to
	// them (""; none). Its key is never shown: UpstreamClientKeySet says
	// whether one is held.
	UpstreamClientCert   string    `json:"upstream_client_cert"`
	UpstreamClientKeySet bool      `json:"upstream_client_key_set"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
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
	UpstreamCA    *string    `json:"upstream_ca,omitempty"`
	// UpstreamClientCert and UpstreamClientKey (PEM) go together; both ""
	// remove them. The key is write-only.
	UpstreamClientCert *string `json:"upstream_client_cert,omitempty"`
	UpstreamClientKey  *string `json:"upstream_client_key,omitempty"`
}
