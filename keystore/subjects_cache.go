package keystore

import (
	"crypto/cipher"
	"sync"
	"sync/atomic"
)

// subjectCache is one project's subjects in memory: each subject's secret
// (or the fact that it is erased), its AEADs by data-key version, and the
// seals not yet counted in the store. It also remembers the references of
// recently seen subject ids, so that a request for a known subject
// computes no HMAC. An erasure purges the subject, here and (through the
// etcd watch) on every instance.
type subjectCache struct {
	mu sync.RWMutex
	// gen is bumped by every purge, so that a load that read the store
	// before a purge does not cache what it read.
	gen     uint64
	entries map[[SubjectRefSize]byte]*subjectEntry
	// refs maps subject ids to references; bounded by maxSubjectRefs.
	refs map[string][SubjectRefSize]byte
	// orphans are unflushed seal counts of purged entries.
	orphans map[[SubjectRefSize]byte]uint64
}

// maxSubjectRefs bounds subjectCache.refs (and entries); past it the map
// starts afresh.
const maxSubjectRefs = 1 << 16

// subjectEntry is one subject in memory.
type subjectEntry struct {
	ref    [SubjectRefSize]byte
	secret []byte // nil: erased
	// aeads are the subject's AEADs by version; copy on write.
	aeads   atomic.Pointer[map[uint32]cipher.AEAD]
	aeadMu  sync.Mutex
	pending atomic.Uint64 // seals not yet flushed to the store
}

// ref returns the cached reference of subject.
func (c *subjectCache) ref(subject []byte) ([SubjectRefSize]byte, bool) {
	c.mu.RLock()
	r, ok := c.refs[string(subject)]
	c.mu.RUnlock()
	return r, ok
}

// putRef remembers the reference of subject.
func (c *subjectCache) putRef(subject []byte, r [SubjectRefSize]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == nil || len(c.refs) >= maxSubjectRefs {
		c.refs = map[string][SubjectRefSize]byte{}
	}
	c.refs[string(subject)] = r
}

// entry returns the cached subject, or nil.
func (c *subjectCache) entry(ref []byte) *subjectEntry {
	c.mu.RLock()
	e := c.entries[[SubjectRefSize]byte(ref)]
	c.mu.RUnlock()
	return e
}

// generation returns the purge generation, read before a load.
func (c *subjectCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches e unless a purge happened since gen; it returns the entry
// that callers must use (one cached meanwhile wins).
func (c *subjectCache) put(e *subjectEntry, gen uint64) *subjectEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return e
	}
	if cur := c.entries[e.ref]; cur != nil {
		return cur
	}
	if c.entries == nil || len(c.entries) >= maxSubjectRefs {
		c.orphanAllLocked()
		c.entries = map[[SubjectRefSize]byte]*subjectEntry{}
	}
	c.entries[e.ref] = e
	return e
}

// purge forgets one subject (its secret and AEADs); its unflushed count
// is kept for the next flush.
func (c *subjectCache) purge(ref [SubjectRefSize]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e := c.entries[ref]; e != nil {
		c.orphanLocked(e)
		delete(c.entries, ref)
	}
}

// purgeAll forgets every subject (after a full reload from etcd).
func (c *subjectCache) purgeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.orphanAllLocked()
	c.entries = nil
}

func (c *subjectCache) orphanAllLocked() {
	for _, e := range c.entries {
		c.orphanLocked(e)
	}
}

func (c *subjectCache) orphanLocked(e *subjectEntry) {
	if n := e.pending.Swap(0); n > 0 {
		if c.orphans == nil {
			c.orphans = map[[SubjectRefSize]byte]uint64{}
		}
		c.orphans[e.ref] += n
	}
}

// takeCounts returns, and forgets, every unflushed count.
func (c *subjectCache) takeCounts() map[[SubjectRefSize]byte]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.orphans
	c.orphans = nil
	for ref, e := range c.entries {
		if n := e.pending.Swap(0); n > 0 {
			if out == nil {
				out = map[[SubjectRefSize]byte]uint64{}
			}
			out[ref] += n
		}
	}
	return out
}

// pendingOf returns the unflushed count of one subject.
func (c *subjectCache) pendingOf(ref [SubjectRefSize]byte) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.orphans[ref]
	if e := c.entries[ref]; e != nil {
		n += e.pending.Load()
	}
	return n
}

// aead returns the subject's AEAD of a version, deriving it from the
// version's data key on first use.
func (e *subjectEntry) aead(project string, dk *dataKeyVersion) cipher.AEAD {
	v := dk.rec.Version
	if m := e.aeads.Load(); m != nil {
		if a := (*m)[v]; a != nil {
			return a
		}
	}
	e.aeadMu.Lock()
	defer e.aeadMu.Unlock()
	old := e.aeads.Load()
	if old != nil && (*old)[v] != nil {
		return (*old)[v]
	}
	grown := map[uint32]cipher.AEAD{}
	if old != nil {
		for k, a := range *old {
			grown[k] = a
		}
	}
	a := newGCM(SubjectKey(dk.raw, e.secret, project, e.ref[:]))
	grown[v] = a
	e.aeads.Store(&grown)
	return a
}
