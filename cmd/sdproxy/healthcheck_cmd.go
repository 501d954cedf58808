package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/config"
)

// healthcheckTimeout bounds the whole check.
const healthcheckTimeout = 5 * time.Second

func newHealthcheckCmd(getenv func(string) string) *cobra.Command {
	var configPath, target string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local sdproxy answers /readyz with 200, 1 otherwise",
		Long: `Check that the sdproxy on this machine is ready: GET /readyz on its admin
listener, found from the same config file and SDPROXY_* variables as
serve (SDPROXY_ADMIN_LISTEN; https when SDPROXY_ADMIN_TLS_CERT_FILE is set,
trusting that certificate). Exit status 0 on 200, 1 otherwise: made for a
container's HEALTHCHECK, where there is no curl.

SDPROXY_ADMIN_CA_FILE adds a trusted CA; SDPROXY_ADMIN_CLIENT_CERT_FILE and
SDPROXY_ADMIN_CLIENT_KEY_FILE present a client certificate. --url checks
another URL instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, config.Default(), getenv)
			if err != nil {
				return err
			}
			hc, u, err := healthcheckClient(cfg, target, getenv)
			if err != nil {
				return err
			}
			resp, err := hc.Get(u)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", u, err)
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: HTTP %d, want 200", u, resp.StatusCode)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ready:", u)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "config file, YAML or JSON (env SDPROXY_CONFIG)")
	f.StringVar(&target, "url", "", "URL to check instead of the local admin listener's /readyz")
	return cmd
}

// healthcheckClient returns the client and URL to check: target when
// set, else /readyz of the admin listener cfg names, on 127.0.0.1 when
// it listens on all interfaces.
func healthcheckClient(cfg config.Config, target string, getenv func(string) string) (*http.Client, string, error) {
	conf, err := adminClientTLS(getenv)
	if err != nil {
		return nil, "", err
	}
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if target == "" {
		target = localAdminURL(cfg) + "/readyz"
		if cfg.AdminTLS.Enabled() {
			if err := trustOwnCert(conf, cfg.AdminTLS.CertFile, target); err != nil {
				return nil, "", err
			}
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig, tr.Proxy = conf, nil
	return &http.Client{Timeout: healthcheckTimeout, Transport: tr}, target, nil
}

// localAdminURL is the admin listener's URL from this machine.
func localAdminURL(cfg config.Config) string {
	scheme := "http://"
	if cfg.AdminTLS.Enabled() {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(cfg.AdminListen)
	if err != nil {
		return scheme + cfg.AdminListen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port)
}

// trustOwnCert adds the admin listener's own certificate chain to conf's
// roots (so a self-signed one verifies), and, when the leaf does not name
// the host of target, verifies it by its first DNS name instead: the check
// connects to the loopback address, the certificate names the service.
func trustOwnCert(conf *tls.Config, certFile, target string) error {
	roots := conf.RootCAs
	if roots == nil {
		roots, _ = x509.SystemCertPool() // nil on failure: the file alone
	}
	pool, err := loadCAPool(certFile, roots)
	if err != nil {
		return fmt.Errorf("admin TLS certificate: %w", err)
	}
	conf.RootCAs = pool
	leaf, err := firstCert(certFile)
	if err != nil {
		return fmt.Errorf("admin TLS certificate: %w", err)
	}
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if leaf.VerifyHostname(u.Hostname()) != nil && len(leaf.DNSNames) > 0 {
		conf.ServerName = leaf.DNSNames[0]
	}
	return nil
}

// firstCert parses the first certificate of a PEM file.
func firstCert(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("%s: %w", file, errNoCerts)
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}
