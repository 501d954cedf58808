package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/sdproxy/sdproxy/config"
)

// adminHTTPClient is the CLI's HTTP client for the admin API. Over https
// it trusts the system's roots plus SDPROXY_ADMIN_CA_FILE, and presents
// SDPROXY_ADMIN_CLIENT_CERT_FILE / _KEY_FILE when the admin listener asks
// for a client certificate.
func adminHTTPClient(getenv func(string) string) (*http.Client, error) {
	conf, err := adminClientTLS(getenv)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: refuseRedirect}
	if conf != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = conf
		c.Transport = tr
	}
	return c, nil
}

// refuseRedirect: the admin API never redirects, so a redirect comes from
// something else at --admin-addr. Following it would send the admin token
// (which Go keeps on a redirect to the same host name, whatever the port
// or scheme) and the request's body there.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the answer redirects to %s, which is not followed: the admin API never redirects (check --admin-addr)", req.URL.Redacted())
}

// adminClientTLS is the TLS config those variables ask for, or nil when
// none is set (the system's roots, no client certificate).
func adminClientTLS(getenv func(string) string) (*tls.Config, error) {
	caFile := getenv(config.EnvAdminCAFile)
	certFile, keyFile := getenv(config.EnvAdminClientCertFile), getenv(config.EnvAdminClientKeyFile)
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = nil // none on this system: the CA file alone
		}
		if conf.RootCAs, err = loadCAPool(caFile, roots); err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvAdminCAFile, err)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%s and %s go together: set both or neither", config.EnvAdminClientCertFile, config.EnvAdminClientKeyFile)
	}
	if certFile != "" {
		cert, err := loadKeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("admin client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{*cert}
	}
	return conf, nil
}
