package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync/atomic"

	"github.com/sdproxy/sdproxy/keystore"
)

// Projects' TLS profiles towards upstreams and destinations: a project
// with an upstream_ca or a client certificate has a pool of clients of its
// own (see upstreams), built once per change of its profile.

// ClientCertificates opens a project's upstream client certificate (the
// key store).
type ClientCertificates interface {
	// UpstreamClientCertificate returns the project's client certificate
	// with its key, or nil when it has none.
	UpstreamClientCertificate(p *keystore.Project) (*tls.Certificate, error)
}

// projectPool is the pool of a project with a TLS profile, built from the
// project's settings src; fp identifies the profile, so a change of other
// settings keeps the pool and its connections.
type projectPool struct {
	src  atomic.Pointer[keystore.Project]
	fp   [sha256.Size]byte
	pool *pool
	used lastUse
}

// hasProfile reports whether p has TLS settings of its own.
func hasProfile(p *keystore.Project) bool {
	return p.UpstreamCA != "" || p.UpstreamClientCert != ""
}

// profileFingerprint identifies p's TLS profile. The key is left out: it
// must match the certificate, so the certificate stands for it.
func profileFingerprint(p *keystore.Project) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(p.UpstreamCA))
	h.Write([]byte{0})
	h.Write([]byte(p.UpstreamClientCert))
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}

// poolRLocked returns p's pool when it is known for these very settings,
// else nil. The caller holds u.mu (read or write).
func (u *upstreams) poolRLocked(p *keystore.Project, now int64) *pool {
	if !hasProfile(p) {
		return u.def
	}
	e := u.byID[p.ID]
	if e == nil || e.src.Load() != p {
		return nil
	}
	e.used.mark(now)
	return e.pool
}

// poolLocked returns p's pool, building it when p's profile is new or
// changed (its old pool's idle connections are closed; requests still on
// them finish). Settings older than the ones the pool was built from use
// the newer pool. The caller holds u.mu for writing.
func (u *upstreams) poolLocked(p *keystore.Project, now int64) (*pool, error) {
	if c := u.poolRLocked(p, now); c != nil {
		return c, nil
	}
	e := u.byID[p.ID]
	if e != nil && u.isCurrent(e.src.Load()) {
		// p is a snapshot older than the one the pool was built from (a
		// request that read the project before an update): keep the
		// newer pool. Which is newer is what the store holds now, not
		// UpdatedAt: a wall clock stepped back, or another instance's
		// clock behind, would otherwise keep a replaced CA for good.
		e.used.mark(now)
		return e.pool, nil
	}
	fp := profileFingerprint(p)
	if e != nil && e.fp == fp {
		e.src.Store(p)
		e.used.mark(now)
		return e.pool, nil
	}
	conf, err := u.tlsConfig(p)
	if err != nil {
		return nil, err
	}
	u.evictIdle(now)
	if e != nil {
		e.pool.closeIdle()
	}
	e = &projectPool{fp: fp, pool: newPool(conf)}
	e.src.Store(p)
	e.used.ns.Store(now)
	u.byID[p.ID] = e
	return e.pool, nil
}

// currentProjects is the store's view of the projects' current settings
// (the data plane's store has it).
type currentProjects interface {
	CachedProject(id []byte) *keystore.Project
}

// isCurrent reports whether src is the project's current settings in the
// store (false when the store cannot say).
func (u *upstreams) isCurrent(src *keystore.Project) bool {
	cp, ok := u.certs.(currentProjects)
	return ok && src != nil && cp.CachedProject([]byte(src.ID)) == src
}

// tlsConfig is the TLS configuration of p's profile: its CA certificates
// as the only roots (else the default ones) and its client certificate.
// TLS 1.2 or later, and verification is never skipped.
func (u *upstreams) tlsConfig(p *keystore.Project) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: u.opts.RootCAs}
	if p.UpstreamCA != "" {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(p.UpstreamCA)) {
			return nil, fmt.Errorf("proxy: project %s: upstream_ca holds no certificate", p.ID)
		}
		conf.RootCAs = roots
	}
	if p.HasUpstreamClientKey() {
		if u.certs == nil {
			return nil, fmt.Errorf("proxy: project %s: no store to open its client certificate", p.ID)
		}
		cert, err := u.certs.UpstreamClientCertificate(p)
		if err != nil {
			return nil, fmt.Errorf("proxy: project %s: %w", p.ID, err)
		}
		// Presented whenever the upstream asks, whichever CAs it names.
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return conf, nil
}

// countCertAsks returns a copy of conf that counts in asks every request
// for a client certificate, presenting conf's certificate, or none.
func countCertAsks(conf *tls.Config, asks *atomic.Uint64) *tls.Config {
	c := conf.Clone()
	get := conf.GetClientCertificate
	c.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asks.Add(1)
		if get == nil {
			return &tls.Certificate{}, nil // an empty one: none is sent
		}
		return get(cri)
	}
	return c
}
