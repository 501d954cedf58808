package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certReloader serves a listener's certificate through GetCertificate and
// swaps it atomically when Reload reads a new pair, so new handshakes get
// the new certificate while open connections keep theirs. With a client CA
// file (the admin listener's admin_tls.client_ca_file) it also serves, through
// GetConfigForClient, a config asking for client certificates of the CAs
// read last, reloaded with the pair.
type certReloader struct {
	name, certFile, keyFile string
	caFile                  string // "" for no client certificates
	log                     *slog.Logger
	cur                     atomic.Pointer[tls.Certificate]
	clientConf              atomic.Pointer[tls.Config] // nil without caFile

	mu     sync.Mutex // serialises Reload; guards stamp and failed
	stamp  string     // size and mtime of the files at the last attempt
	failed string     // what the last attempt failed to read ("" for nothing)
}

// newCertReloader loads the pair (and client CAs when caFile is set) once;
// an unreadable file, a key that does not match the certificate or a CA
// file with no certificate is an error.
func newCertReloader(name, certFile, keyFile, caFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{name: name, certFile: certFile, keyFile: keyFile, caFile: caFile, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	warnLooseKeyFile(name, keyFile, log)
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// GetConfigForClient is tls.Config.GetConfigForClient: the config with the
// client CAs read last, or nil (the listener's own config) without them.
func (r *certReloader) GetConfigForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	return r.clientConf.Load(), nil
}

// Reload reads the pair and the client CAs again. Each that fails stays
// as it was: a broken pair keeps the old certificate and a broken CA file
// the old CAs, and neither holds up the other (a CA removed from the file
// must not stay trusted because the key file is mid-renewal, nor a
// renewed certificate wait for a CA file fixed).
func (r *certReloader) Reload() error {
	certErr, caErr := r.reloadParts()
	return errors.Join(certErr, caErr)
}

func (r *certReloader) reloadParts() (certErr, caErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = r.fileStamp()
	if cert, err := loadKeyPair(r.certFile, r.keyFile); err != nil {
		certErr = fmt.Errorf("%s TLS certificate: %w", r.name, err)
	} else {
		r.cur.Store(cert)
	}
	if r.caFile != "" {
		if pool, err := loadCAPool(r.caFile, nil); err != nil {
			caErr = fmt.Errorf("%s TLS client CA: %w", r.name, err)
		} else {
			conf := serverTLS(r)
			conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
			r.clientConf.Store(conf)
		}
	}
	if err := errors.Join(certErr, caErr); err != nil {
		r.failed = err.Error()
	} else {
		r.failed = ""
	}
	return certErr, caErr
}

// warnLooseKeyFile logs a warning when a private key file may be read by
// group or others. It is not refused, as a master key file is: platforms
// mount TLS secrets 0644 by default (Kubernetes), and the key is not the
// data's.
func warnLooseKeyFile(name, keyFile string, log *slog.Logger) {
	fi, err := os.Stat(keyFile)
	if err != nil || checkSecretMode("", keyFile, fi.Mode()) == nil {
		return
	}
	log.Warn("TLS private key file is readable by group or others: chmod 600 it", "listener", name, "file", keyFile, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}

// loadKeyPair reads a PEM certificate chain and its key and checks that
// they belong together and that the leaf parses.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return &cert, nil
}

// fileStamp is the size and modification time of the files, and the key
// file's permissions ("-" parts for a file that cannot be read): a key
// file made readable by others (a chmod changes neither its size nor its
// time) is read again, and warned about, as a changed file is.
func (r *certReloader) fileStamp() string {
	s := ""
	for _, p := range []string{r.certFile, r.keyFile, r.caFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			s += fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
			if p == r.keyFile {
				s += fmt.Sprintf("/%o", fi.Mode().Perm())
			}
			s += ";"
		} else {
			s += "-;"
		}
	}
	return s
}

// due says why the files are to be read again at a poll: they differ
// from the last attempt ("file changed"), or that attempt failed
// ("retry": what made it fail, such as a key file's owner or mode, may
// have been fixed without changing a size or a time); "" for neither.
func (r *certReloader) due() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.fileStamp() != r.stamp:
		return "file changed"
	case r.failed != "":
		return "retry"
	}
	return ""
}

// reload reloads and logs what was reloaded and what failed: one line
// for the certificate (naming the client CA file too when it was read
// with it) and one for a client CA file that failed, or that was read
// while the certificate failed. A retry that fails as the attempt before
// did logs nothing more.
func (r *certReloader) reload(why string) {
	r.mu.Lock()
	before := r.failed
	r.mu.Unlock()
	certErr, caErr := r.reloadParts()
	if err := errors.Join(certErr, caErr); why == "retry" && err != nil && err.Error() == before {
		return
	}
	caOK := r.caFile != "" && caErr == nil
	if certErr != nil {
		r.log.Error("TLS certificate reload failed: still serving the previous certificate", "listener", r.name, "reason", why, "err", certErr)
		if caOK {
			r.log.Info("TLS client CAs reloaded", "listener", r.name, "reason", why, "client_ca_file", r.caFile)
		}
	} else {
		leaf := r.cur.Load().Leaf
		args := []any{"listener", r.name, "reason", why, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339)}
		if caOK {
			args = append(args, "client_ca_file", r.caFile)
		}
		r.log.Info("TLS certificate reloaded", args...)
		warnLooseKeyFile(r.name, r.keyFile, r.log)
	}
	if caErr != nil {
		r.log.Error("TLS client CA reload failed: still verifying client certificates against the CAs read before", "listener", r.name, "reason", why, "err", caErr)
	}
}

// watchCerts reloads every reloader on a value from hup, and any whose
// files changed every poll, until ctx ends.
func watchCerts(ctx context.Context, poll time.Duration, hup <-chan os.Signal, rs ...*certReloader) {
	if len(rs) == 0 {
		return
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			for _, r := range rs {
				r.reload("SIGHUP")
			}
		case <-tick.C:
			for _, r := range rs {
				if why := r.due(); why != "" {
					r.reload(why)
				}
			}
		}
	}
}

// errNoCerts is a CA file with no certificate in it.
var errNoCerts = errors.New("no PEM certificate found")

// loadCAPool reads a PEM bundle into a pool, adding to base when not nil.
func loadCAPool(file string, base *x509.CertPool) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := base
	if pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: %w", file, errNoCerts)
	}
	return pool, nil
}
