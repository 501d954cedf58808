package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Environment variable names. They are part of the public contract.
const (
	EnvConfig         = "SDPROXY_CONFIG"
	EnvListen         = "SDPROXY_LISTEN"
	EnvAdminListen    = "SDPROXY_ADMIN_LISTEN"
	EnvAdminAdvertise = "SDPROXY_ADMIN_ADVERTISE"
	EnvDataDir        = "SDPROXY_DATA_DIR"
	EnvMasterKey      = "SDPROXY_MASTER_KEY"
	EnvMasterKeyFile  = "SDPROXY_MASTER_KEY_FILE"
	EnvAdminToken     = "SDPROXY_ADMIN_TOKEN"
	EnvAdminTokenFile = "SDPROXY_ADMIN_TOKEN_FILE"
	EnvAdminAddr      = "SDPROXY_ADMIN_ADDR"
	EnvMaxBodyBytes   = "SDPROXY_MAX_BODY_BYTES"
	EnvLogLevel       = "SDPROXY_LOG_LEVEL"
	EnvLogFormat      = "SDPROXY_LOG_FORMAT"
	EnvEventsSink     = "SDPROXY_EVENTS_SINK"
	EnvMaxConnsPerIP  = "SDPROXY_MAX_CONNS_PER_IP"
	EnvEventsFlush    = "SDPROXY_EVENTS_FLUSH_INTERVAL"

	EnvStoreBackend     = "SDPROXY_STORE_BACKEND"
	EnvEtcdEndpoints    = "SDPROXY_ETCD_ENDPOINTS"
	EnvEtcdPrefix       = "SDPROXY_ETCD_PREFIX"
	EnvEtcdCAFile       = "SDPROXY_ETCD_CA_FILE"
	EnvEtcdCertFile     = "SDPROXY_ETCD_CERT_FILE"
	EnvEtcdKeyFile      = "SDPROXY_ETCD_KEY_FILE"
	EnvEtcdUsername     = "SDPROXY_ETCD_USERNAME"
	EnvEtcdPassword     = "SDPROXY_ETCD_PASSWORD"
	EnvEtcdPasswordFile = "SDPROXY_ETCD_PASSWORD_FILE"
	EnvEtcdMaxStaleness = "SDPROXY_ETCD_MAX_STALENESS"

	EnvTLSCertFile          = "SDPROXY_TLS_CERT_FILE"
	EnvTLSKeyFile           = "SDPROXY_TLS_KEY_FILE"
	EnvAdminTLSCertFile     = "SDPROXY_ADMIN_TLS_CERT_FILE"
	EnvAdminTLSKeyFile      = "SDPROXY_ADMIN_TLS_KEY_FILE"
	EnvAdminTLSClientCAFile = "SDPROXY_ADMIN_TLS_CLIENT_CA_FILE"
	EnvAdminCAFile          = "SDPROXY_ADMIN_CA_FILE"
	EnvAdminClientCertFile  = "SDPROXY_ADMIN_CLIENT_CERT_FILE"
	EnvAdminClientKeyFile   = "SDPROXY_ADMIN_CLIENT_KEY_FILE"
)

// LoadFile overlays the YAML (or JSON) file at path onto c. Unknown keys
// are an error, so a typo never silently falls back to a default.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// ApplyEnv overlays the SDPROXY_* variables found by getenv onto c.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	setStr := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	setStr(EnvListen, &c.Listen)
	setStr(EnvAdminListen, &c.AdminListen)
	setStr(EnvAdminAdvertise, &c.AdminAdvertise)
	setStr(EnvDataDir, &c.DataDir)
	setStr(EnvMasterKeyFile, &c.MasterKeyFile)
	setStr(EnvAdminTokenFile, &c.AdminTokenFile)
	setStr(EnvLogLevel, &c.Log.Level)
	setStr(EnvLogFormat, &c.Log.Format)
	setStr(EnvEventsSink, &c.Events.Sink)
	e := &c.Store.Etcd
	setStr(EnvStoreBackend, &c.Store.Backend)
	if v := getenv(EnvEtcdEndpoints); v != "" {
		e.Endpoints = CommaList(v)
	}
	setStr(EnvEtcdPrefix, &e.Prefix)
	setStr(EnvEtcdCAFile, &e.CAFile)
	setStr(EnvEtcdCertFile, &e.CertFile)
	setStr(EnvEtcdKeyFile, &e.KeyFile)
	setStr(EnvEtcdUsername, &e.Username)
	setStr(EnvEtcdPasswordFile, &e.PasswordFile)
	setStr(EnvTLSCertFile, &c.TLS.CertFile)
	setStr(EnvTLSKeyFile, &c.TLS.KeyFile)
	setStr(EnvAdminTLSCertFile, &c.AdminTLS.CertFile)
	setStr(EnvAdminTLSKeyFile, &c.AdminTLS.KeyFile)
	setStr(EnvAdminTLSClientCAFile, &c.AdminTLS.ClientCAFile)
	setInt := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number", name, v))
			}
			*dst = n
		}
	}
	setInt(EnvMaxBodyBytes, &c.MaxBodyBytes)
	setInt(EnvMaxConnsPerIP, &c.Limits.MaxConnsPerIP)
	setDuration := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration (such as 100ms)", name, v))
			}
			*dst = d
		}
	}
	setDuration(EnvEventsFlush, &c.Events.FlushInterval)
	setDuration(EnvEtcdMaxStaleness, &e.MaxStaleness)
	return errors.Join(errs...)
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("config: "+format, a...)) }
	if c.Listen == "" {
		bad("listen must not be empty")
	}
	if c.AdminListen == "" {
		bad("admin_listen must not be empty")
	}
	if c.AdminAdvertise != "" {
		if err := checkAdvertise(c.AdminAdvertise); err != nil {
			bad("admin_advertise: %q %v", c.AdminAdvertise, err)
		}
	}
	if c.DataDir == "" {
		bad("data_dir must not be empty")
	}
	if c.MaxBodyBytes <= 0 {
		bad("max_body_bytes must be positive, got %d", c.MaxBodyBytes)
	}
	if c.LastUsedFlush <= 0 || c.LastUsedFlush > 30*time.Second {
		bad("last_used_flush must be in (0s, 30s], got %s", c.LastUsedFlush)
	}
	if c.DefaultRateLimit.RequestsPerSecond <= 0 || c.DefaultRateLimit.Burst < 1 {
		bad("default_rate_limit needs requests_per_second > 0 and burst >= 1")
	}
	if c.DefaultMaxActiveKeys < 1 {
		bad("default_max_active_keys must be at least 1, got %d", c.DefaultMaxActiveKeys)
	}
	if r := c.DataKeyRotateAfter; r < 1<<16 || r > 1<<32 {
		bad("datakey_rotate_after must be from 65536 to 4294967296, got %d", r)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout must be positive")
	}
	if c.Events.MaxAge <= 0 || c.Events.MaxCount < 1 {
		bad("events.max_age and events.max_count must be positive")
	}
	if f := c.Events.FlushInterval; f < time.Millisecond || f > 10*time.Second {
		bad("events.flush_interval must be between 1ms and 10s, got %s", f)
	}
	l := c.Limits
	if l.MaxConnsPerIP < 0 {
		bad("limits.max_conns_per_ip must be 0 (no limit) or positive, got %d", l.MaxConnsPerIP)
	}
	if l.UnauthBodyBytes < 1 {
		bad("limits.unauth_body_bytes must be at least 1, got %d", l.UnauthBodyBytes)
	}
	if l.MaxValues < 1 {
		bad("limits.max_values must be at least 1, got %d", l.MaxValues)
	}
	if l.MaxOutputBytes < 0 {
		bad("limits.max_output_bytes must be 0 (twice max_body_bytes) or positive, got %d", l.MaxOutputBytes)
	}
	if l.AuthFailures.PerSecond < 0 || l.AuthFailures.PerSecond > 0 && l.AuthFailures.Burst < 1 {
		bad("limits.auth_failures needs per_second >= 0 (0: off) and burst >= 1")
	}
	if l.AuthFailures.SummaryInterval < time.Second {
		bad("limits.auth_failures.summary_interval must be at least 1s, got %s", l.AuthFailures.SummaryInterval)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format must be text or json, got %q", c.Log.Format)
	}
	c.Store.validate(bad)
	c.TLS.validate("tls", bad)
	c.AdminTLS.validate(bad)
	return errors.Join(errs...)
}
