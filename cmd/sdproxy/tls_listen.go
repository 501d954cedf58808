package main

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/sdproxy/sdproxy/config"
)

// modernCipherSuites are the TLS 1.2 suites offered: ECDHE key exchange
// with an AEAD cipher only. TLS 1.3's suites are all AEAD and not
// configurable.
var modernCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS is a listener's TLS config serving r's certificate.
func serverTLS(r *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   modernCipherSuites,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// listenerTLS loads the certificates (and client CA) that cfg names and
// returns the TLS configs of the data and admin listeners (nil for plain
// HTTP) and the reloaders to watch.
func listenerTLS(cfg config.Config, log *slog.Logger) (data, admin *tls.Config, rs []*certReloader, err error) {
	if cfg.TLS.Enabled() {
		r, err := newCertReloader("data", cfg.TLS.CertFile, cfg.TLS.KeyFile, "", log)
		if err != nil {
			return nil, nil, nil, err
		}
		data, rs = serverTLS(r), append(rs, r)
	}
	a := cfg.AdminTLS
	if a.Enabled() {
		r, err := newCertReloader("admin", a.CertFile, a.KeyFile, a.ClientCAFile, log)
		if err != nil {
			return nil, nil, nil, err
		}
		admin, rs = serverTLS(r), append(rs, r)
		if a.ClientCAFile != "" {
			// The handshake takes the config of the CAs read last;
			// this one only decides that client certificates are asked for.
			base := r.clientConf.Load()
			admin.ClientCAs, admin.ClientAuth = base.ClientCAs, base.ClientAuth
			admin.GetConfigForClient = r.GetConfigForClient
		}
	}
	return data, admin, rs, nil
}

// wrapTLS returns ln speaking TLS with conf, or ln itself when conf is nil.
func wrapTLS(ln net.Listener, conf *tls.Config) net.Listener {
	if conf == nil {
		return ln
	}
	return tls.NewListener(ln, conf)
}
