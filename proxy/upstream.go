package proxy

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
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
	return o
}

// upstreams keeps one pooled keep-alive client per origin, and the parsed
// form of each project upstream URL. Entries unused for longer than
// 2 × IdleConnTimeout are dropped whenever a new one is added, so the maps
// do not grow as projects change their upstreams and destinations.
type upstreams struct {
	opts    UpstreamOptions
	now     func() time.Time
	mu      sync.RWMutex
	clients map[string]*clientEntry
	parsed  map[string]*target
	used    map[string]*atomic.Int64 // last use of each parsed URL, unix ns
}

// clientEntry is one origin's client and when it was last used.
type clientEntry struct {
	c    *fasthttp.HostClient
	used atomic.Int64 // unix ns
}

func newUpstreams(o UpstreamOptions, now func() time.Time) *upstreams {
	return &upstreams{opts: o.withDefaults(), now: now, clients: map[string]*clientEntry{}, parsed: map[string]*target{}, used: map[string]*atomic.Int64{}}
}

// evictIdle drops clients and parsed URLs unused for 2 × IdleConnTimeout
// (closing the clients' idle connections). The caller holds u.mu.
func (u *upstreams) evictIdle(now int64) {
	cutoff := now - int64(2*u.opts.IdleConnTimeout)
	for k, e := range u.clients {
		if e.used.Load() < cutoff {
			e.c.CloseIdleConnections()
			delete(u.clients, k)
		}
	}
	for k, used := range u.used {
		if used.Load() < cutoff {
			delete(u.parsed, k)
			delete(u.used, k)
		}
	}
}

// size is how many clients and parsed URLs are kept (tests).
func (u *upstreams) size() (clients, parsed int) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return len(u.clients), len(u.parsed)
}

// upstream returns the target of a project's upstream URL (validated when
// the project was saved), parsing it once.
func (u *upstreams) upstream(rawURL string) (*target, bool) {
	now := u.now().UnixNano()
	u.mu.RLock()
	t, used := u.parsed[rawURL], u.used[rawURL]
	u.mu.RUnlock()
	if t != nil {
		used.Store(now)
		return t, true
	}
	_, parsed, ok := parseTarget(nil, []byte(rawURL))
	if !ok {
		return nil, false
	}
	used = new(atomic.Int64)
	used.Store(now)
	u.mu.Lock()
	u.evictIdle(now)
	u.parsed[rawURL], u.used[rawURL] = &parsed, used
	u.mu.Unlock()
	return &parsed, true
}

// client returns the client of t's origin, creating it on first use.
func (u *upstreams) client(t *target) *fasthttp.HostClient {
	now := u.now().UnixNano()
	u.mu.RLock()
	e := u.clients[string(t.origin)]
	u.mu.RUnlock()
	if e != nil {
		e.used.Store(now)
		return e.c
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if e = u.clients[string(t.origin)]; e != nil {
		e.used.Store(now)
		return e.c
	}
	u.evictIdle(now)
	c := &fasthttp.HostClient{
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

	}
	if u.opts.Dial != nil {
		c.Dial = u.opts.Dial
	} else {
		d := u.opts.DialTimeout
		c.Dial = func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, d) }
	}
	e = &clientEntry{c: c}
	e.used.Store(now)
	u.clients[string(t.origin)] = e
	return c
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
