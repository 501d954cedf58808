package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// UpstreamOptions are the limits of forwarded requests. fasthttp's zero
// values mean "no limit", so every one has a default here.
type UpstreamOptions struct {
	// DialTimeout bounds connecting. Zero means 5s.
	DialTimeout time.Duration
	// Timeout bounds writing the request and reading the answer. Zero
	// means 30s.
	Timeout time.Duration
	// MaxConnsPerHost bounds connections to one upstream. Zero means 512.
	MaxConnsPerHost int
	// IdleConnTimeout closes idle keep-alive connections. Zero means 90s.
	IdleConnTimeout time.Duration
	// MaxResponseBytes bounds an upstream's answer. Zero means 64 MiB.
	MaxResponseBytes int
	// Dial replaces the TCP dialer (tests use in-memory listeners). Nil
	// means fasthttp's dialer with DialTimeout.
	Dial func(addr string) (net.Conn, error)
	// Resolve looks up the addresses of a destination's host name, which
	// a destination's client then dials by address (see
	// destinationDial). Nil means net.DefaultResolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// RootCAs verifies https upstreams' certificates. Nil means the
	// system's roots. A project's upstream_ca replaces them for its
	// upstream and destinations. Verification is never skipped, and TLS
	// is 1.2 or later.
	RootCAs *x509.CertPool
}

func (o UpstreamOptions) withDefaults() UpstreamOptions {
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxConnsPerHost == 0 {
		o.MaxConnsPerHost = 512
	}
	if o.IdleConnTimeout == 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.Resolve == nil {
		o.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	return o
}

// upstreams keeps pooled keep-alive clients: one per origin, and for each
// project upstream URL its client, found once. A project with its own TLS
// profile (upstream_ca, a client certificate) has a pool of its own, so no
// other project ever reaches an upstream through its CA or certificate;
// the others share the default pool. Entries unused for longer than 2 ×
// IdleConnTimeout are dropped whenever a new one is added, so the maps do
// not grow as projects change their upstreams, destinations and profiles.
type upstreams struct {
	opts  UpstreamOptions
	certs ClientCertificates
	mu    sync.RWMutex
	def   *pool                   // system roots (or opts.RootCAs), no client certificate
	byID  map[string]*projectPool // by project id, for projects with a TLS profile
}

// pool is the clients of one TLS configuration.
type pool struct {
	conf    *tls.Config
	clients map[string]*clientEntry // by origin
	byURL   map[string]*urlEntry    // by project upstream URL
	// dests are the clients of destinations a caller chose, by origin:
	// apart from clients, since they dial through destinationDial.
	dests map[string]*clientEntry
}

// clientEntry is one origin's client and when it was last used.
type clientEntry struct {
	c    *fasthttp.HostClient
	used lastUse
	// certAsks counts the handshakes in which the upstream asked for a
	// client certificate. Under TLS 1.3 an upstream that refuses the
	// certificate (or its absence) says so after the handshake, on the
	// first read, which fasthttp reports as a connection closed before
	// the answer; a request that failed so while the count moved was
	// refused for its certificate (see forward).
	certAsks atomic.Uint64
}

// urlEntry is a project upstream URL's client and when it was last used.
// Each use marks its client used too, and an entry goes with its client.
type urlEntry struct {
	client *clientEntry
	used   lastUse
}

// lastUse is when an entry was last used, in unix ns, to the second: it
// is written at most once a second, so the requests of many cores do not
// keep writing one shared cache line.
type lastUse struct{ ns atomic.Int64 }

func (u *lastUse) mark(now int64) {
	if now-u.ns.Load() >= int64(time.Second) {
		u.ns.Store(now)
	}
}

func (u *lastUse) load() int64 { return u.ns.Load() }

func newUpstreams(o UpstreamOptions, certs ClientCertificates) *upstreams {
	o = o.withDefaults()
	return &upstreams{opts: o, certs: certs, def: newPool(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs}),
		byID: map[string]*projectPool{}}
}

func newPool(conf *tls.Config) *pool {
	return &pool{conf: conf, clients: map[string]*clientEntry{}, byURL: map[string]*urlEntry{}, dests: map[string]*clientEntry{}}
}

// closeIdle closes the idle connections of every client of the pool.
func (c *pool) closeIdle() {
	for _, m := range []map[string]*clientEntry{c.clients, c.dests} {
		for _, e := range m {
			e.c.CloseIdleConnections()
		}
	}
}

// evictIdle drops clients, URLs and project pools unused for 2 ×
// IdleConnTimeout (closing the clients' idle connections). The caller
// holds u.mu.
func (u *upstreams) evictIdle(now int64) {
	cutoff := now - int64(2*u.opts.IdleConnTimeout)
	u.def.evictIdle(cutoff)
	for id, e := range u.byID {
		if e.used.load() < cutoff {
			e.pool.closeIdle()
			delete(u.byID, id)
			continue
		}
		e.pool.evictIdle(cutoff)
	}
}

func (c *pool) evictIdle(cutoff int64) {
	for _, m := range []map[string]*clientEntry{c.clients, c.dests} {
		for k, e := range m {
			if e.used.load() < cutoff {
				e.c.CloseIdleConnections()
				delete(m, k)
			}
		}
	}
	for k, e := range c.byURL {
		if e.used.load() < cutoff || e.client.used.load() < cutoff { // its client just went
			delete(c.byURL, k)
		}
	}
}

// size is how many clients and project URLs are kept, in every pool
// (tests).
func (u *upstreams) size() (clients, urls int) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	clients, urls = len(u.def.clients)+len(u.def.dests), len(u.def.byURL)
	for _, e := range u.byID {
		clients, urls = clients+len(e.pool.clients)+len(e.pool.dests), urls+len(e.pool.byURL)
	}
	return clients, urls
}

// project returns the client of project p's upstream URL (validated when
// the project was saved) at now (unix ns): the URL is parsed and its
// client found on first use, so a request pays one map look-up (two for
// a project with a TLS profile).
func (u *upstreams) project(p *keystore.Project, now int64) (*clientEntry, error) {
	rawURL := p.Upstream
	u.mu.RLock()
	var e *urlEntry
	c := u.poolRLocked(p, now)
	if c != nil {
		e = c.byURL[rawURL]
	}
	u.mu.RUnlock()
	if e == nil {
		_, t, ok := parseTarget(nil, []byte(rawURL))
		if !ok {
			return nil, httpapi.ErrInternal
		}
		u.mu.Lock()
		c, err := u.poolLocked(p, now)
		if err != nil {
			u.mu.Unlock()
			return nil, err
		}
		if e = c.byURL[rawURL]; e == nil {
			u.evictIdle(now)
			e = &urlEntry{client: u.clientLocked(c, &t, now, false)}
			c.byURL[rawURL] = e
		}
		u.mu.Unlock()
	}
	e.used.mark(now)
	e.client.used.mark(now)
	return e.client, nil
}

// client returns the client of destination t's origin for project p at
// now (unix ns), creating it on first use.
func (u *upstreams) client(p *keystore.Project, t *target, now int64) (*clientEntry, error) {
	u.mu.RLock()
	var e *clientEntry
	c := u.poolRLocked(p, now)
	if c != nil {
		e = c.dests[string(t.origin)]
	}
	u.mu.RUnlock()
	if e == nil {
		u.mu.Lock()
		c, err := u.poolLocked(p, now)
		if err != nil {
			u.mu.Unlock()
			return nil, err
		}
		e = u.clientLocked(c, t, now, true)
		u.mu.Unlock()
	}
	e.used.mark(now)
	return e, nil
}

// clientLocked returns the entry of t's origin in pool c, creating it (and
// dropping idle ones) when there is none: among the destinations' clients
// (dest), which dial through destinationDial, or the upstreams'. The
// caller holds u.mu.
func (u *upstreams) clientLocked(c *pool, t *target, now int64, dest bool) *clientEntry {
	m := c.clients
	if dest {
		m = c.dests
	}
	if e := m[string(t.origin)]; e != nil {
		return e
	}
	u.evictIdle(now)
	e := &clientEntry{}
	hc := &fasthttp.HostClient{
		Addr:                     string(t.addr),
		IsTLS:                    t.tls,
		Name:                     "sdproxy",
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		ReadTimeout:              u.opts.Timeout,
		WriteTimeout:             u.opts.Timeout,
		MaxConns:                 u.opts.MaxConnsPerHost,
		MaxIdleConnDuration:      u.opts.IdleConnTimeout,
		MaxConnWaitTimeout:       u.opts.Timeout,
		MaxResponseBodySize:      u.opts.MaxResponseBytes,
		RetryIfErr:               retryIdempotentOnly,
		SecureErrorLogMessage:    true, // errors never quote the request or response
		TLSConfig:                countCertAsks(c.conf, &e.certAsks),
	}
	hc.Dial = u.dial
	if dest {
		hc.Dial = u.destinationDial
	}
	e.c = hc
	e.used.ns.Store(now)
	m[string(t.origin)] = e
	return e
}

// retryIdempotentOnly retries a failed request once on a fresh connection
// only when its method is idempotent; a POST or PATCH is never sent twice.
// A timeout is not retried either: the upstream has the request, and a
// second wait would double UpstreamOptions.Timeout.
func retryIdempotentOnly(req *fasthttp.Request, attempts int, err error) (bool, bool) {
	if httpapi.IsTimeout(err) {
		return false, false
	}
	m := req.Header.Method()
	idem := bytes.Equal(m, []byte("GET")) || bytes.Equal(m, []byte("HEAD")) || bytes.Equal(m, []byte("OPTIONS")) ||
		bytes.Equal(m, []byte("PUT")) || bytes.Equal(m, []byte("DELETE"))
	return false, idem && attempts < 2
}

// target is where one request goes. Its slices live in the request state.
type target struct {
	origin []byte // scheme://host:port, for the client pool and allow-list
	addr   []byte // host:port
	tls    bool
}

// parseTarget appends the origin of an absolute http(s) URL to buf and
// returns the grown buf with the target pointing into it; ok is false for
// anything else, including URLs with credentials and URLs with a space, a
// control or a non-ASCII byte (which would break the request line).
// destOrigin appends what the event log keeps of an X-Qanapi-Destination
// value: the origin parseTarget makes of it (scheme, host and port,
// lower-cased; never user information, a path or a query, which may carry
// credentials), or "(invalid)" when it is not an http(s) URL whose host is
// a plain name or address (what is left could be anything: a password cut
// at a '#', a path read as a host). dst should hold 256 bytes: a longer
// origin is logged as invalid rather than grow it.
func destOrigin(dst, raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return dst[:0]
	}
	buf, t, ok := parseTarget(dst[:0], raw)
	if !ok || len(buf) > cap(dst) || !plainHost(t.addr) {
		return append(dst[:0], "(invalid)"...)
	}
	return t.origin
}

// plainHost reports whether addr is a DNS name or an IPv4 address, or a
// bracketed IPv6 address, and a port of digits.
func plainHost(addr []byte) bool {
	i := bytes.LastIndexByte(addr, ':')
	if i <= 0 || i == len(addr)-1 || len(addr)-i > 6 {
		return false
	}
	host, port := addr[:i], addr[i+1:]
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	if host[0] == '[' {
		host = host[1:]
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		for _, c := range host[:len(host)-1] {
			if !('a' <= c && c <= 'f' || '0' <= c && c <= '9' || c == ':' || c == '.') {
				return false
			}
		}
		return true
	}
	for _, c := range host {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func parseTarget(buf []byte, rawURL []byte) (_ []byte, t target, ok bool) {
	for _, c := range rawURL {
		if c <= ' ' || c >= 0x7f {
			return buf, target{}, false
		}
	}
	var tls bool
	switch {
	case hasPrefixFold(rawURL, "http://"):
		rawURL = rawURL[len("http://"):]
	case hasPrefixFold(rawURL, "https://"):
		rawURL, tls = rawURL[len("https://"):], true
	default:
		return buf, target{}, false
	}
	end := bytes.IndexAny(rawURL, "/?#")
	if end < 0 {
		end = len(rawURL)
	}
	host := rawURL[:end]
	if len(host) == 0 || bytes.IndexByte(host, '@') >= 0 {
		return buf, target{}, false
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	start := len(buf)
	buf = append(buf, scheme...)
	for _, c := range host {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	if !hasPort(host) {
		if tls {
			buf = append(buf, ":443"...)
		} else {
			buf = append(buf, ":80"...)
		}
	}
	origin := buf[start:]
	return buf, target{origin: origin, addr: origin[len(scheme):], tls: tls}, true
}

func hasPort(host []byte) bool {
	i := bytes.LastIndexByte(host, ':')
	return i >= 0 && i > bytes.LastIndexByte(host, ']')
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
