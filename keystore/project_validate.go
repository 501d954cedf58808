package keystore

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	maxNameLen      = 200
	maxDestinations = 100
	maxRate         = 1e6
	maxBurst        = 1 << 20
	maxActiveKeyCap = 1000
)

// applyProjectInput validates in and copies its non-nil fields into p.
func applyProjectInput(p *Project, in ProjectInput, creating bool) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
			return invalid("name", "must be 1 to %d characters", maxNameLen)
		}
		p.Name = name
	}
	if in.Environment != nil {
		if !creating && *in.Environment != p.Environment {
			return invalid("environment", "cannot be changed after the project is created")
		}
		if !slices.Contains(Environments, *in.Environment) {
			return invalid("environment", "must be one of %s", strings.Join(Environments, ", "))
		}
		p.Environment = *in.Environment
	}
	if in.Upstream != nil {
		u, err := normalizeUpstream(*in.Upstream)
		if err != nil {
			return err
		}
		p.Upstream = u
	}
	if in.Destinations != nil {
		d, err := normalizeDestinations(*in.Destinations)
		if err != nil {
			return err
		}
		p.Destinations = d
	}
	if in.BindFields != nil {
		p.BindFields = *in.BindFields
	}
	if in.RateLimit != nil {
		rl := *in.RateLimit
		if !(rl.RequestsPerSecond > 0 && rl.RequestsPerSecond <= maxRate) {
			return invalid("rate_limit.requests_per_second", "must be more than 0 and at most %g", float64(maxRate))
		}
		if rl.Burst < 1 || rl.Burst > maxBurst {
			return invalid("rate_limit.burst", "must be from 1 to %d", maxBurst)
		}
		p.RateLimit = rl
	}
	if in.MaxActiveKeys != nil {
		if n := *in.MaxActiveKeys; n < 1 || n > maxActiveKeyCap {
			return invalid("max_active_keys", "must be from 1 to %d", maxActiveKeyCap)
		}
		p.MaxActiveKeys = *in.MaxActiveKeys
	}
	return nil
}

// normalizeUpstream accepts "" (no upstream) or an absolute http(s) URL
// without query, fragment or credentials; a trailing slash is dropped.
func normalizeUpstream(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", invalid("upstream", "must be an absolute http or https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", invalid("upstream", "must not contain credentials, a query or a fragment")
	}
	return strings.TrimSuffix(u.Scheme+"://"+strings.ToLower(u.Host)+u.EscapedPath(), "/"), nil
}

// normalizeDestinations turns each entry into an origin scheme://host:port
// (port made explicit), so the proxy compares them exactly.
func normalizeDestinations(raw []string) ([]string, error) {
	if len(raw) > maxDestinations {
		return nil, invalid("destinations", "at most %d entries", maxDestinations)
	}
	out := make([]string, 0, len(raw))
	for _, d := range raw {
		o, ok := Origin(d)
		if !ok {
			return nil, invalid("destinations", "%s", DestinationProblem(d))
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// DestinationProblem says why d is not a destination (Origin refused it),
// without quoting an entry that holds credentials.
func DestinationProblem(d string) string {
	if u, err := url.Parse(d); err == nil && u.User != nil || err != nil && strings.Contains(d, "@") {
		return "an entry must not contain credentials (user:password@): a destination is an origin, scheme://host[:port]"
	}
	return strconv.Quote(d) + " is not an absolute http or https URL"
}

// Origin returns the scheme://host:port of an absolute http(s) URL, with
// the default port made explicit and the host lower-cased.
func Origin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + ":" + port, true
}
