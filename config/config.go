// Package config holds sdproxy's configuration schema, its defaults, the
// environment overrides and validation. It reads files and the environment
// only when asked to; library packages never see it, cmd/sdproxy turns a
// Config into each package's Options.
package config

import "time"

// Config is the whole configuration of `sdproxy serve`.
// Precedence, highest first: command-line flag, environment variable,
// config file, default.
type Config struct {
	// Listen is the data listener's address (SDPROXY_LISTEN). Default ":8080".
	Listen string `yaml:"listen"`
	// AdminListen is the admin listener's address (SDPROXY_ADMIN_LISTEN).
	// Default "127.0.0.1:8081": the admin API is not exposed by default.
	AdminListen string `yaml:"admin_listen"`
	// AdminAdvertise is the admin API's base URL as other instances reach
	// it (http://host:port), registered with the instance on the etcd
	// backend and called to merge event logs (SDPROXY_ADMIN_ADVERTISE).
	// Empty means derived from the admin listener: http://host:port, with
	// host 127.0.0.1 when it listens on all interfaces.
	AdminAdvertise string `yaml:"admin_advertise"`
	// DataDir holds the bbolt file sdproxy.db, and, when generated,
	// master.key and admin.token (SDPROXY_DATA_DIR). Default "./sdproxy-data".
	DataDir string `yaml:"data_dir"`
	// MasterKeyFile is a file holding the base64 master key
	// (SDPROXY_MASTER_KEY_FILE). Empty means: use SDPROXY_MASTER_KEY, else
	// <data-dir>/master.key, generated on first start for development.
	MasterKeyFile string `yaml:"master_key_file"`
	// AdminTokenFile is a file holding the admin token
	// (SDPROXY_ADMIN_TOKEN_FILE), e.g. a docker secret. Empty means: use
	// SDPROXY_ADMIN_TOKEN, else <data-dir>/admin.token, generated on first
	// start.
	AdminTokenFile string `yaml:"admin_token_file"`
	// MaxBodyBytes is the largest request body accepted on the data
	// listener. Default 10 MiB.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// LastUsedFlush is how often in-memory "last used" times are written to
	// the store. Default 10s; at most 30s.
	LastUsedFlush time.Duration `yaml:"last_used_flush"`
	// DefaultRateLimit applies to projects created without a rate limit.
	DefaultRateLimit RateLimit `yaml:"default_rate_limit"`
	// DefaultMaxActiveKeys applies to projects created without a cap.
	// Default 10.
	DefaultMaxActiveKeys int `yaml:"default_max_active_keys"`
	// DataKeyRotateAfter is how many values one data-key version seals
	// before a new version is made current. Default 2^30; from 65,536 (one
	// reservation block) to 2^32.
	DataKeyRotateAfter uint64 `yaml:"datakey_rotate_after"`
	// ShutdownTimeout bounds a graceful stop. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// Events configures the event log.
	Events Events `yaml:"events"`
	// Limits bound what a request, and a client without a key, may cost.
	Limits Limits `yaml:"limits"`
	// Store selects the store's backend: bbolt (default) or etcd.
	Store Store `yaml:"store"`
	// TLS is the data listener's certificate (SDPROXY_TLS_CERT_FILE,
	// SDPROXY_TLS_KEY_FILE). Zero means plain HTTP.
	TLS TLS `yaml:"tls"`
	// AdminTLS is the admin listener's certificate and client CA
	// (SDPROXY_ADMIN_TLS_*). Zero means plain HTTP.
	AdminTLS AdminTLS `yaml:"admin_tls"`
}

// Limits bound the data listener's work per request and per client.
type Limits struct {
	// MaxConnsPerIP bounds concurrent connections from one client IP on
	// the data listener (SDPROXY_MAX_CONNS_PER_IP). Default 512; 0 means no
	// limit (behind a load balancer every client may share its address).
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// UnauthBodyBytes is the largest body read before the API key is known
	// to be valid: larger (or chunked) requests are authenticated from their
	// headers first and refused 401 unread without a valid key. Default 4096
	// (or max_body_bytes, when that is smaller).
	UnauthBodyBytes int `yaml:"unauth_body_bytes"`
	// MaxValues is the most field values one request may encrypt or
	// decrypt (413 too_many_values). Default 10,000.
	MaxValues int `yaml:"max_values"`
	// MaxOutputBytes is the largest transformed body (413 body_too_large).
	// Default 0: twice max_body_bytes.
	MaxOutputBytes int `yaml:"max_output_bytes"`
	// AuthFailures bounds failed authentications per client IP: of API
	// keys on the data listener and of the admin token on the admin
	// listener, each counted on its own.
	AuthFailures AuthFailures `yaml:"auth_failures"`
}

// AuthFailures is a token bucket of failed authentications per client IP
// (past it: 429 until it refills) and how often they are summarised as
// auth.failed events.
type AuthFailures struct {
	// PerSecond is the refill rate. Default 1; 0 turns the limit off.
	PerSecond float64 `yaml:"per_second"`
	// Burst is the bucket size. Default 30.
	Burst int `yaml:"burst"`
	// SummaryInterval is how often auth.failed summaries are written.
	// Default 1m.
	SummaryInterval time.Duration `yaml:"summary_interval"`
}

// Events configures the event log.
type Events struct {
	// MaxAge prunes older events. Default 720h (30 days).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxCount prunes the oldest events beyond this many. Default 1,000,000.
	MaxCount uint64 `yaml:"max_count"`
	// Sink copies every event as a JSON line: "" (none), "stdout", or a
	// file path (appended to). Default none.
	Sink string `yaml:"sink"`
	// FlushInterval is how often queued events are written (one
	// transaction, fsync included): at most this much is lost in a
	// crash. Default 100ms; 1ms to 10s.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// RateLimit is a token bucket: RequestsPerSecond refill rate, Burst size.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

// Log configures log/slog output on stderr.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:               ":8080",
		AdminListen:          "127.0.0.1:8081",
		DataDir:              "./sdproxy-data",
		MaxBodyBytes:         10 << 20,
		LastUsedFlush:        10 * time.Second,
		DefaultRateLimit:     RateLimit{RequestsPerSecond: 100, Burst: 200},
		DefaultMaxActiveKeys: 10,
		DataKeyRotateAfter:   1 << 30,
		ShutdownTimeout:      15 * time.Second,
		Log:                  Log{Level: "info", Format: "text"},
		Events:               Events{MaxAge: 30 * 24 * time.Hour, MaxCount: 1_000_000, FlushInterval: 100 * time.Millisecond},
		Limits: Limits{
			MaxConnsPerIP: 512, UnauthBodyBytes: 4096, MaxValues: 10_000,
			AuthFailures: AuthFailures{PerSecond: 1, Burst: 30, SummaryInterval: time.Minute},
		},
		Store: Store{Backend: BackendBbolt, Etcd: Etcd{Prefix: "/sdproxy/", MaxStaleness: time.Minute}},
	}
}
