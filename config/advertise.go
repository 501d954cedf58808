package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// AdminURL is the admin API's advertised base URL: AdminAdvertise when set,
// else http://host:port (https:// with admin TLS) of the admin listener bound at listenAddr (which
// may differ from AdminListen when that asks for port 0), with host
// 127.0.0.1 when it listens on all interfaces.
func (c *Config) AdminURL(listenAddr string) string {
	if c.AdminAdvertise != "" {
		return strings.TrimRight(c.AdminAdvertise, "/")
	}
	scheme := "http://"
	if c.AdminTLS.Enabled() {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return scheme + listenAddr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port)
}

// checkAdvertise accepts http(s)://host:port with nothing after it but "/".
func checkAdvertise(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must start with http:// or https://")
	case u.Host == "" || u.Port() == "":
		return fmt.Errorf("must name a host and a port (such as http://10.0.0.5:8081)")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return fmt.Errorf("must be a base URL, without a path, query or user")
	}
	return nil
}
