package proxy

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sdproxy/sdproxy/keystore"
)

// limiters holds one token bucket per API key. A bucket follows its
// project's rate limit as it changes; a bucket that has been idle long
// enough to be full again is dropped, so memory stays bounded.
//
// With several instances sharing a store, each holds its own buckets
// sized to its share of the limit (see share).
type limiters struct {
	mu        sync.RWMutex
	m         map[string]*keyLimiter
	lastSweep atomic.Int64
	idle      time.Duration
	// instances is how many instances share every key's limit (at least
	// 1): each bucket gets 1/instances of the rate and of the burst.
	instances atomic.Int64
}

type keyLimiter struct {
	lim *rate.Limiter
	mu  sync.Mutex // serialises changes of cfg
	// cfg is the config lim follows: read without the lock, so a request
	// under an unchanged limit takes no lock but the limiter's own.
	cfg      atomic.Pointer[keystore.RateLimit]
	lastSeen lastUse
}

// limitResult is what a request learns from its bucket.
type limitResult struct {
	allowed    bool
	limit      int           // burst size
	remaining  int           // whole tokens left
	reset      time.Duration // until the bucket is full again
	retryAfter time.Duration // until one token is available (when refused)
}

func newLimiters(idle time.Duration) *limiters {
	l := &limiters{m: map[string]*keyLimiter{}, idle: idle}
	l.instances.Store(1)
	return l
}

// setInstances sets how many instances share each key's limit; every
// bucket takes its new size at its key's next request.
func (l *limiters) setInstances(n int) { l.instances.Store(int64(max(n, 1))) }

// share is this instance's part of cfg when n instances share it: the
// rate divided by n, and the burst too, but at least 1.
func share(cfg keystore.RateLimit, n int64) keystore.RateLimit {
	if n <= 1 {
		return cfg
	}
	return keystore.RateLimit{RequestsPerSecond: cfg.RequestsPerSecond / float64(n), Burst: max(cfg.Burst/int(n), 1)}
}

// allow takes one token of keyID's bucket, sized to this instance's share
// of cfg, at now.
func (l *limiters) allow(keyID string, cfg keystore.RateLimit, now time.Time) limitResult {
	cfg = share(cfg, l.instances.Load())
	kl := l.get(keyID, cfg, now)
	kl.lastSeen.mark(now.UnixNano())
	res := limitResult{limit: cfg.Burst}
	res.allowed = kl.lim.AllowN(now, 1)
	tokens := kl.lim.TokensAt(now)
	res.remaining = max(int(math.Floor(tokens)), 0)
	res.reset = secondsFor(float64(cfg.Burst)-tokens, cfg.RequestsPerSecond)
	if !res.allowed {
		res.retryAfter = secondsFor(1-tokens, cfg.RequestsPerSecond)
	}
	return res
}

// get returns keyID's bucket, creating it or applying a changed config.
func (l *limiters) get(keyID string, cfg keystore.RateLimit, now time.Time) *keyLimiter {
	l.mu.RLock()
	kl := l.m[keyID]
	l.mu.RUnlock()
	if kl == nil {
		l.sweep(now)
		l.mu.Lock()
		if kl = l.m[keyID]; kl == nil {
			kl = &keyLimiter{lim: rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), cfg.Burst)}
			kl.cfg.Store(newConfig(cfg))
			kl.lastSeen.mark(now.UnixNano())
			l.m[keyID] = kl
		}
		l.mu.Unlock()
	}
	if c := kl.cfg.Load(); *c != cfg {
		kl.mu.Lock()
		if c := kl.cfg.Load(); *c != cfg {
			kl.lim.SetLimitAt(now, rate.Limit(cfg.RequestsPerSecond))
			kl.lim.SetBurstAt(now, cfg.Burst)
			kl.cfg.Store(newConfig(cfg))
		}
		kl.mu.Unlock()
	}
	return kl
}

// newConfig returns a copy of cfg on the heap (taking cfg's own address
// would move it there on every call).
func newConfig(cfg keystore.RateLimit) *keystore.RateLimit {
	c := new(keystore.RateLimit)
	*c = cfg
	return c
}

// sweep drops buckets idle for l.idle that are full again (so dropping
// them changes nothing), at most once per l.idle.
func (l *limiters) sweep(now time.Time) {
	last := l.lastSweep.Load()
	if now.UnixNano()-last < int64(l.idle) || !l.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, kl := range l.m {
		if now.UnixNano()-kl.lastSeen.load() >= int64(l.idle) && kl.lim.TokensAt(now) >= float64(kl.lim.Burst()) {
			delete(l.m, id)
		}
	}
}

func (l *limiters) len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.m)
}

// secondsFor is how long rps takes to refill tokens (0 when none are missing).
func secondsFor(tokens, rps float64) time.Duration {
	if tokens <= 0 || rps <= 0 {
		return 0
	}
	return time.Duration(tokens / rps * float64(time.Second))
}

// ceilSeconds rounds d up to whole seconds, at least min.
func ceilSeconds(d time.Duration, min int64) int64 {
	s := int64(math.Ceil(d.Seconds()))
	if s < min {
		return min
	}
	return s
}
