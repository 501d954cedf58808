package keystore

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Principal is an authenticated API key: what the proxy needs to decide.
// It is shared and must not be modified.
type Principal struct {
	KeyID      string
	ProjectID  string
	CanEncrypt bool
	CanDecrypt bool
	// CanDecryptMasked: where a response rule decrypts, the key may see
	// the values masked (by the mask that applies), though not in clear
	// unless CanDecrypt.
	CanDecryptMasked bool
	// Classifications limits the key to these slugs; empty means any.
	Classifications []string
	// Budget caps the values the key decrypts per window; nil means no
	// cap.
	Budget *DecryptBudget
}

// usage is the in-memory "last used" of one key, kept across cache updates.
type usage struct {
	last    atomic.Int64 // unix nanoseconds of the last successful use
	flushed atomic.Int64 // the value last written to the store
}

type cachedKey struct {
	principal Principal
	hash      []byte
	revoked   bool
	expiresAt int64 // unix nanoseconds; 0 means never
	use       *usage
}

// authCache holds every key, project, route and classification in memory.
type authCache struct {
	mu       sync.RWMutex
	keys     map[string]*cachedKey
	projects map[string]*Project
	usage    map[string]*usage
	routes   map[string]routeList       // by project id
	classes  map[string]*projectClasses // by project id
	// budgets holds the decrypt budgets of keys that have one, by key id,
	// kept across updates of the key while its budget is the same.
	budgets map[string]*DecryptBudget
	owner   *Store
	// routeVersion numbers route lists; it only grows.
	routeVersion uint64
}

func (c *authCache) init(owner *Store) {
	c.owner = owner
	c.budgets = map[string]*DecryptBudget{}
	c.keys = map[string]*cachedKey{}
	c.projects = map[string]*Project{}
	c.usage = map[string]*usage{}
	c.routes = map[string]routeList{}
	c.classes = map[string]*projectClasses{}
}

func (c *authCache) putKey(rec *keyRecord) {
	e := &cachedKey{
		principal: Principal{
			KeyID:           rec.ID,
			ProjectID:       rec.ProjectID,
			Classifications: rec.Classifications,
		},
		hash:    rec.Hash,
		revoked: rec.RevokedAt != nil,
	}
	for _, p := range rec.Permissions {
		e.principal.CanEncrypt = e.principal.CanEncrypt || p == PermEncrypt
		e.principal.CanDecrypt = e.principal.CanDecrypt || p == PermDecrypt
		e.principal.CanDecryptMasked = e.principal.CanDecryptMasked || p == PermDecryptMasked
	}
	if rec.ExpiresAt != nil {
		e.expiresAt = expiryNanos(*rec.ExpiresAt)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.usage[rec.ID]
	if u == nil {
		u = new(usage)
		if rec.LastUsedAt != nil {
			u.last.Store(rec.LastUsedAt.UnixNano())
			u.flushed.Store(rec.LastUsedAt.UnixNano())
		}
		c.usage[rec.ID] = u
	}
	e.use = u
	e.principal.Budget = c.budgetForLocked(rec.ID, rec.ProjectID, rec.DecryptBudget)
	c.keys[rec.ID] = e
}

func (c *authCache) putProject(p Project) {
	c.mu.Lock()
	c.projects[p.ID] = &p
	c.projectClassesLocked(&p)
	c.mu.Unlock()
}

func (c *authCache) deleteProject(id string, keyIDs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.projects, id)
	delete(c.routes, id)
	delete(c.classes, id)
	for _, k := range keyIDs {
		delete(c.keys, k)
		delete(c.usage, k)
		delete(c.budgets, k)
	}
}

func (c *authCache) key(id []byte) *cachedKey {
	c.mu.RLock()
	e := c.keys[string(id)]
	c.mu.RUnlock()
	return e
}

// hmacState is a pooled keyed hash with room for its sum.
type hmacState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// dummyHash is compared against when the key id is unknown, so unknown and
// wrong keys take the same work.
var dummyHash = make([]byte, sha256.Size)

// Authenticate checks an API key for project and returns its principal.
// Every failure (malformed, unknown, wrong secret, revoked, expired, other
// project) is ErrUnauthorized. On etcd, when the cache has not been known
// current for EtcdOptions.MaxStaleness, it is ErrStoreUnavailable for
// every key, since one may have been revoked meanwhile. It does not
// allocate.
func (s *Store) Authenticate(projectID, key []byte) (*Principal, error) {
	return s.authenticate(projectID, true, key)
}

// AuthenticateKey is Authenticate for whichever project the key belongs
// to, as the direct API needs.
func (s *Store) AuthenticateKey(key []byte) (*Principal, error) {
	return s.authenticate(nil, false, key)
}

func (s *Store) authenticate(projectID []byte, checkProject bool, key []byte) (*Principal, error) {
	if s.feed != nil && s.feed.tooStale() {
		return nil, ErrStoreUnavailable
	}
	id, ok := parseAPIKey(key)
	if !ok {
		return nil, ErrUnauthorized
	}
	e := s.cache.key(id)
	want := dummyHash
	if e != nil {
		want = e.hash
	}
	st := s.hmacPool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(key)
	match := subtle.ConstantTimeCompare(st.h.Sum(st.sum[:0]), want) == 1
	s.hmacPool.Put(st)
	if e == nil || !match || e.revoked || checkProject && e.principal.ProjectID != string(projectID) {
		return nil, ErrUnauthorized
	}
	now := s.opts.Now().UnixNano()
	if e.expiresAt != 0 && now >= e.expiresAt {
		return nil, ErrUnauthorized
	}
	if e.use.last.Load() < now {
		e.use.last.Store(now)
	}
	return &e.principal, nil
}

// StillAuthenticates is nil when the key of p, a principal that
// Authenticate returned, still authenticates now: not revoked, expired or
// deleted (with its project) since, else ErrUnauthorized; on etcd,
// ErrStoreUnavailable once the cache is too stale to vouch for any key.
// The data plane asks it before it opens tokens of an upstream's answer
// with the key's authority, since a request may wait for its upstream
// long after the key was revoked. It does not allocate.
func (s *Store) StillAuthenticates(p *Principal) error {
	if s.feed != nil && s.feed.tooStale() {
		return ErrStoreUnavailable
	}
	s.cache.mu.RLock()
	e := s.cache.keys[p.KeyID]
	s.cache.mu.RUnlock()
	if e == nil || e.revoked || e.principal.ProjectID != p.ProjectID ||
		e.expiresAt != 0 && s.opts.Now().UnixNano() >= e.expiresAt {
		return ErrUnauthorized
	}
	return nil
}

func (s *Store) newHMACPool() {
	s.hmacPool.New = func() any { return &hmacState{h: hmac.New(sha256.New, s.hashKey)} }
}

// withLastUsed returns k with LastUsedAt from memory when that is newer.
func (s *Store) withLastUsed(k Key) Key {
	s.cache.mu.RLock()
	u := s.cache.usage[k.ID]
	s.cache.mu.RUnlock()
	if u == nil {
		return k
	}
	if n := u.last.Load(); n != 0 && (k.LastUsedAt == nil || n > k.LastUsedAt.UnixNano()) {
		t := time.Unix(0, n).UTC()
		k.LastUsedAt = &t
	}
	return k
}

// CachedProject returns the in-memory copy of project id, which the caller
// must not modify, or nil.
func (s *Store) CachedProject(id []byte) *Project {
	s.cache.mu.RLock()
	p := s.cache.projects[string(id)]
	s.cache.mu.RUnlock()
	return p
}

// expiryNanos is an expiry as the cache compares it, in Unix nanoseconds
// (0 means none): UnixNano overflows past 2262, so a later expiry (such
// as 9999-12-31, a common "never") is held as the greatest value, and one
// at or before 1970 as 1.
func expiryNanos(t time.Time) int64 {
	switch {
	case !t.Before(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	case !t.After(time.Unix(0, 0)):
		return 1
	}
	return t.UnixNano()
}
