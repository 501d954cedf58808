// Package authfail bounds what failed authentications may cost a
// listener: a token bucket of failures per client IP, past which the IP is
// refused before any credential is checked, and one auth.failed summary
// per IP and project per interval instead of an event per failure. The
// data listener uses it for API keys, the admin listener for the admin
// token.
package authfail

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sdproxy/sdproxy/events"
)

// Options bound what failed authentications may cost: each
// client IP has a token bucket of failures, and failures are stored as one
// auth.failed summary per IP and project per interval, never one event
// each, so a flood can neither fill the event queue nor push real entries
// out of the log.
type Options struct {
	// PerSecond and Burst size each client IP's bucket of failed
	// authentications; past it the IP is answered 429 (before any key is
	// checked) until the bucket refills. Zero means 1 per second and a
	// burst of 30; a negative PerSecond turns the limit off.
	PerSecond float64
	Burst     int
	// Interval is how often summaries are written. Zero means 1 minute.
	Interval time.Duration
	// MaxTracked bounds how many IPs and (IP, project) pairs are kept
	// between summaries; past it failures still count in the total but a
	// new IP starts with a full bucket. Zero means 100,000.
	MaxTracked int
	// Listener, when set, is recorded in each summary's details as
	// "listener" (the admin listener's are "admin"; the data
	// listener's have none, as they always had).
	Listener string
}

func (o Options) withDefaults() Options {
	if o.PerSecond == 0 {
		o.PerSecond = 1
	}
	if o.Burst == 0 {
		o.Burst = 30
	}
	if o.Interval == 0 {
		o.Interval = time.Minute
	}
	if o.MaxTracked == 0 {
		o.MaxTracked = 100_000
	}
	return o
}

// AuditLog is what a Tracker needs to record summaries.
type AuditLog interface {
	Record(events.Event)
}

// Tracker counts failed authentications per client IP and project.
type Tracker struct {
	opts       Options
	retryAfter string // Retry-After of a refused IP: one failure's refill time, whole seconds
	total      atomic.Uint64
	// nBlocked is len(blocked), read without the lock so that requests
	// pay nothing while no IP is over its budget.
	nBlocked atomic.Int32

	mu      sync.Mutex
	buckets map[netip.Addr]*rate.Limiter
	blocked map[netip.Addr]*rate.Limiter
	counts  map[failKey]uint64
}

type failKey struct {
	ip      netip.Addr
	project string // a known project's id, or ""
}

// New returns a Tracker with o, zero fields set to their defaults.
func New(o Options) *Tracker {
	o = o.withDefaults()
	return &Tracker{
		opts:       o,
		retryAfter: strconv.Itoa(max(1, int(math.Ceil(1/o.PerSecond)))),
		buckets:    map[netip.Addr]*rate.Limiter{},
		blocked:    map[netip.Addr]*rate.Limiter{},
		counts:     map[failKey]uint64{},
	}
}

// Limited reports whether ip has spent its failure budget at now. An
// address that is not tracked is never limited here, even while the
// shared overflow bucket is spent: that bucket holds the failures of
// every address past MaxTracked, and refusing from it up front would let
// whoever fills the table (two IPv6 /48s hold 131,072 /64s) lock out
// every client that never failed. Such an address's own failures still
// count there, and Fail refuses them past it.
func (a *Tracker) Limited(ip netip.Addr, now time.Time) bool {
	if a.nBlocked.Load() == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ip = a.key(ip)
	if !ip.IsValid() {
		return false // untracked: see above
	}
	lim := a.blocked[ip]
	if lim == nil {
		return false
	}
	if lim.TokensAt(now) >= 1 {
		delete(a.blocked, ip)
		a.nBlocked.Store(int32(len(a.blocked)))
		return false
	}
	return true
}

// key is the bucket of ip: IPv6 addresses count by their /64 (one host
// may hold the whole prefix), and once MaxTracked addresses are tracked a
// new one shares the overflow bucket (the zero Addr) instead of going
// unlimited. The caller holds a.mu.
func (a *Tracker) key(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	if _, ok := a.buckets[ip]; !ok && len(a.buckets) >= a.opts.MaxTracked {
		return netip.Addr{}
	}
	return ip
}

// maxSummaries bounds the auth.failed events of one flush; the rest are
// folded into one summary of client_ip "other".
const maxSummaries = 1000

// Fail counts one failed authentication of ip for project ("" when the
// project is unknown) and reports whether ip is still within its budget.
func (a *Tracker) Fail(ip netip.Addr, project string, now time.Time) (allowed bool) {
	a.total.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	ip = a.key(ip)
	k := failKey{ip, project}
	if _, ok := a.counts[k]; ok || len(a.counts) < a.opts.MaxTracked {
		a.counts[k]++
	} else {
		a.counts[failKey{}]++ // overflow: counted under no IP and no project
	}
	if a.opts.PerSecond < 0 {
		return true
	}
	lim := a.buckets[ip]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(a.opts.PerSecond), a.opts.Burst)
		a.buckets[ip] = lim
	}
	if lim.AllowN(now, 1) {
		return true
	}
	a.blocked[ip] = lim
	a.nBlocked.Store(int32(len(a.blocked)))
	return false
}

// Flush records one auth.failed summary per (IP, project) counted since
// the last flush, and forgets buckets that are full again.
func (a *Tracker) Flush(log AuditLog, now time.Time) {
	a.mu.Lock()
	counts := a.counts
	a.counts = make(map[failKey]uint64, len(counts))
	for ip, lim := range a.buckets {
		// A full bucket is forgotten, blocked or not: a blocked address
		// leaves the blocked set only when it sends again, and one that
		// never does must not keep a tracked slot for good (MaxTracked
		// of them would send every new address to the overflow bucket).
		if lim.TokensAt(now) >= float64(a.opts.Burst) {
			delete(a.buckets, ip)
			delete(a.blocked, ip)
		}
	}
	a.nBlocked.Store(int32(len(a.blocked)))
	a.mu.Unlock()
	if log == nil {
		return
	}
	interval := a.opts.Interval.String()
	written, other, others := 0, uint64(0), 0
	for k, n := range counts {
		if !k.ip.IsValid() || written >= maxSummaries {
			other += n
			others++
			continue
		}
		ip := k.ip.String()
		if k.ip.Is6() {
			ip += "/64"
		}
		log.Record(events.Event{
			Type: events.TypeAuthFailed, Time: now.UTC(), ProjectID: k.project, Actor: "sdproxy",
			Details: a.details(map[string]string{"client_ip": ip, "count": strconv.FormatUint(n, 10), "interval": interval}),
		})
		written++
	}
	if other > 0 {
		log.Record(events.Event{
			Type: events.TypeAuthFailed, Time: now.UTC(), Actor: "sdproxy",
			Details: a.details(map[string]string{"client_ip": "other", "count": strconv.FormatUint(other, 10), "interval": interval,
				"sources": strconv.Itoa(others)}),
		})
	}
}

// details adds the listener's name to a summary's details when it has one.
func (a *Tracker) details(d map[string]string) map[string]string {
	if a.opts.Listener != "" {
		d["listener"] = a.opts.Listener
	}
	return d
}

// Total is how many authentications failed since the Tracker was made.
func (a *Tracker) Total() uint64 { return a.total.Load() }

// RetryAfter is the Retry-After of an answer to a refused IP: the time
// one failure takes to refill, in whole seconds.
func (a *Tracker) RetryAfter() string { return a.retryAfter }

// Run writes the summaries to log every interval until done is closed,
// then once more, so nothing counted is lost at shutdown. Run it before
// closing the log it writes to.
func (a *Tracker) Run(log AuditLog, now func() time.Time, done <-chan struct{}) {
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			a.Flush(log, now())
			return
		case <-t.C:
			a.Flush(log, now())
		}
	}
}

// RemoteIP is the IP of a connection's remote address, without
// allocating; the zero Addr when addr is not TCP.
func RemoteIP(addr net.Addr) netip.Addr {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
