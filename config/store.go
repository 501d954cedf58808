package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Store backends.
const (
	BackendBbolt = "bbolt"
	BackendEtcd  = "etcd"
)

// Store selects where projects, keys, data keys, routes and
// classifications are kept.
type Store struct {
	// Backend is "bbolt" (one instance: the file sdproxy.db in data_dir)
	// or "etcd" (any number of instances sharing one etcd cluster)
	// (SDPROXY_STORE_BACKEND). Default "bbolt".
	Backend string `yaml:"backend"`
	// Etcd configures the etcd backend; ignored on bbolt.
	Etcd Etcd `yaml:"etcd"`
}

// Etcd configures the etcd backend. The password is not a file setting:
// it comes from SDPROXY_ETCD_PASSWORD, or the file named by
// SDPROXY_ETCD_PASSWORD_FILE or password_file.
type Etcd struct {
	// Endpoints are etcd's client URLs, comma-separated in a string or a
	// YAML list (SDPROXY_ETCD_ENDPOINTS, comma-separated). Required with
	// the etcd backend.
	Endpoints CommaList `yaml:"endpoints"`
	// Prefix comes before every key sdproxy keeps in etcd; instances with
	// the same prefix share everything (SDPROXY_ETCD_PREFIX). Default
	// "/sdproxy/"; it must start and end with "/".
	Prefix string `yaml:"prefix"`
	// CAFile verifies etcd's certificate (SDPROXY_ETCD_CA_FILE). Empty
	// means the system's roots when an endpoint is https.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate for etcd
	// (SDPROXY_ETCD_CERT_FILE, SDPROXY_ETCD_KEY_FILE); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Username logs in to etcd with the password (SDPROXY_ETCD_USERNAME).
	// Empty means no login.
	Username string `yaml:"username"`
	// PasswordFile holds the password (SDPROXY_ETCD_PASSWORD_FILE).
	PasswordFile string `yaml:"password_file"`
	// MaxStaleness is how long an instance that cannot show its cache is
	// current (etcd unreachable, no quorum) goes on accepting API keys
	// from it; past it the data plane answers 503 store_unavailable
	// (SDPROXY_ETCD_MAX_STALENESS). Default 60s; at least 1s.
	MaxStaleness time.Duration `yaml:"max_staleness"`
}

// CommaList is a list kept as one comma-separated string, so that Config
// stays comparable. In YAML it is either such a string or a list.
type CommaList string

// UnmarshalYAML accepts a string or a list of strings.
func (l *CommaList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		*l = CommaList(strings.Join(items, ","))
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = CommaList(s)
	return nil
}

// Items returns the entries, trimmed, without empty ones.
func (l CommaList) Items() []string {
	var out []string
	for _, s := range strings.Split(string(l), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validate reports every problem of the store settings through bad.
func (s Store) validate(bad func(format string, a ...any)) {
	switch s.Backend {
	case BackendBbolt:
		return
	case BackendEtcd:
	default:
		bad("store.backend must be bbolt or etcd, got %q", s.Backend)
		return
	}
	e := s.Etcd
	eps := e.Endpoints.Items()
	if len(eps) == 0 {
		bad("store.etcd.endpoints must name at least one etcd endpoint (SDPROXY_ETCD_ENDPOINTS, comma-separated) with store.backend etcd")
	}
	tls := e.CAFile != "" || e.CertFile != ""
	for _, ep := range eps {
		tls = tls || strings.HasPrefix(strings.ToLower(ep), "https://")
	}
	for _, ep := range eps {
		if err := checkEndpoint(ep); err != nil {
			bad("store.etcd.endpoints: %q %v", redactEndpoint(ep), err)
		} else if tls && strings.HasPrefix(strings.ToLower(ep), "http://") {
			// The etcd client would drop TLS for every endpoint, or use
			// it for this one: never what was meant.
			bad("store.etcd.endpoints: %q is plaintext (http://) while TLS is configured (an https:// endpoint, store.etcd.ca_file or cert_file): name every endpoint https://", ep)
		}
	}
	if !strings.HasPrefix(e.Prefix, "/") || !strings.HasSuffix(e.Prefix, "/") {
		bad("store.etcd.prefix must start and end with /, got %q", e.Prefix)
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		bad("store.etcd.cert_file and store.etcd.key_file go together: set both or neither")
	}
	if e.MaxStaleness < time.Second {
		bad("store.etcd.max_staleness must be at least 1s, got %s", e.MaxStaleness)
	}
}

// checkEndpoint accepts host:port and http(s)://host:port.
func checkEndpoint(ep string) error {
	if strings.Contains(ep, "@") {
		// Userinfo, whatever it holds ('/', '?' or '#' in a password
		// make url.Parse read it as a host and path, and quote it in
		// its error): an etcd endpoint never holds an '@'.
		return fmt.Errorf("must not hold credentials: set store.etcd.username (SDPROXY_ETCD_USERNAME) and SDPROXY_ETCD_PASSWORD or SDPROXY_ETCD_PASSWORD_FILE")
	}
	if !strings.Contains(ep, "://") {
		ep = "http://" + ep
	}
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		// url.Error quotes the whole URL, credentials included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("is not a URL: %v", err)
	case u.User != nil:
		return fmt.Errorf("must not hold credentials: set store.etcd.username (SDPROXY_ETCD_USERNAME) and SDPROXY_ETCD_PASSWORD or SDPROXY_ETCD_PASSWORD_FILE")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be http://, https:// or host:port")
	case u.Host == "" || u.Port() == "":
		return fmt.Errorf("must name a host and a port (such as 127.0.0.1:2379)")
	}
	return nil
}

// redactEndpoint is ep with any user information before its host replaced
// by "…@", for messages.
func redactEndpoint(ep string) string {
	scheme, rest, ok := strings.Cut(ep, "://")
	if !ok {
		scheme, rest = "", ep
	}
	// The last '@' anywhere: a password may hold '/', '?' or '#'.
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ep
	}
	out := "…@" + rest[at+1:]
	if ok {
		out = scheme + "://" + out
	}
	return out
}
