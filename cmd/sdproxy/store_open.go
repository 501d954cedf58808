package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/keystore"
)

// lockWait is how long serve waits for another process to release the
// data directory: short, so that a second serve fails within a second
// (docs/configuration.md).
const lockWait = 250 * time.Millisecond

// openStore opens the store cfg names: the bbolt file in the data
// directory, or etcd.
func openStore(cfg config.Config, getenv func(string) string, master []byte) (*keystore.Store, error) {
	opts := keystore.Options{
		MasterKey:            master,
		DefaultRateLimit:     keystore.RateLimit(cfg.DefaultRateLimit),
		DefaultMaxActiveKeys: cfg.DefaultMaxActiveKeys,
		DataKeyRotateAfter:   cfg.DataKeyRotateAfter,
		LockTimeout:          lockWait,
	}
	if cfg.Store.Backend != config.BackendEtcd {
		s, err := keystore.Open(cfg.DataDir, opts)
		return s, startupError(err)
	}
	eo, err := etcdOptions(cfg.Store.Etcd, getenv)
	if err != nil {
		return nil, err
	}
	s, err := keystore.OpenEtcd(eo, opts)
	if errors.Is(err, keystore.ErrStoreUnavailable) {
		return nil, fmt.Errorf("etcd at %s: %w", strings.Join(eo.Endpoints, ","), err)
	}
	return s, startupError(err)
}

// etcdOptions turns the etcd settings into the store's options, reading
// the password and the TLS files.
func etcdOptions(e config.Etcd, getenv func(string) string) (keystore.EtcdOptions, error) {
	eo := keystore.EtcdOptions{Endpoints: e.Endpoints.Items(), Prefix: e.Prefix, Username: e.Username, MaxStaleness: e.MaxStaleness}
	eo.Password = getenv(config.EnvEtcdPassword)
	if eo.Password == "" && e.PasswordFile != "" {
		b, err := readSecretFile("etcd password file", e.PasswordFile)
		if err != nil {
			return eo, err
		}
		eo.Password = strings.TrimRight(string(b), "\r\n")
	}
	tlsConf, err := etcdTLS(e)
	eo.TLS = tlsConf
	return eo, err
}

// etcdTLS is the client's TLS configuration: nil when no endpoint is
// https and no TLS file is set.
func etcdTLS(e config.Etcd) (*tls.Config, error) {
	https := strings.Contains(string(e.Endpoints), "https://")
	if !https && e.CAFile == "" && e.CertFile == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd CA file: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA file %s holds no PEM certificate", e.CAFile)
		}
	}
	if e.CertFile != "" {
		certPEM, err := os.ReadFile(e.CertFile)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate: %w", err)
		}
		keyPEM, err := readSecretFile("etcd client key file", e.KeyFile)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate %s and key %s: %w", e.CertFile, e.KeyFile, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
