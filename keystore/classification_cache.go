package keystore

import (
	"fmt"
	"unicode/utf8"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// cachedClass is one classification as cached, with its mask ready for
// fieldcrypt. Entries are replaced, never modified.
type cachedClass struct {
	c    Classification
	mask fieldcrypt.Mask
}

// projectClasses are one project's cached classifications.
type projectClasses struct {
	none   *cachedClass // NoClassification
	bySlug map[string]*cachedClass
}

func newCachedClass(c Classification) *cachedClass {
	r, _ := utf8.DecodeRuneInString(c.Mask.Char)
	return &cachedClass{c: c, mask: fieldcrypt.Mask{ShowFirst: c.Mask.ShowFirst, ShowLast: c.Mask.ShowLast, Char: r}}
}

// CachedClassification returns the in-memory copy of classification slug
// of project, which the caller must not modify, and whether the project
// defines it. "" and NoClassification give the built-in one; an unknown
// project gives nil, false. It does not allocate, so the data plane can
// take the slug's string from the result rather than convert its bytes.
func (s *Store) CachedClassification(projectID, slug []byte) (*Classification, bool) {
	e := s.cache.class(projectID, string(slug))
	if e == nil {
		return nil, false
	}
	return &e.c, true
}

// CachedMask returns the mask of classification slug of project, ready for
// fieldcrypt.RevealOptions and shared (the caller must not modify it), or
// nil when the project does not define slug (a deleted classification, an
// unknown project). "" and NoClassification give DefaultMask's. It does
// not allocate.
func (s *Store) CachedMask(projectID, slug []byte) *fieldcrypt.Mask {
	e := s.cache.class(projectID, string(slug))
	if e == nil {
		return nil
	}
	return &e.mask
}

// class looks slug up; string(slug) conversions in the callers' map
// indexing do not allocate.
func (c *authCache) class(projectID []byte, slug string) *cachedClass {
	c.mu.RLock()
	defer c.mu.RUnlock()
	pc := c.classes[string(projectID)]
	switch {
	case pc == nil:
		return nil
	case slug == "" || slug == NoClassification:
		return pc.none
	}
	return pc.bySlug[slug]
}

// projectClassesLocked returns project p's entry, creating it; the
// caller holds c.mu.
func (c *authCache) projectClassesLocked(p *Project) *projectClasses {
	pc := c.classes[p.ID]
	if pc == nil {
		pc = &projectClasses{none: newCachedClass(builtinNone(*p)), bySlug: map[string]*cachedClass{}}
		c.classes[p.ID] = pc
	}
	return pc
}

// putClass caches cl; its project is cached already.
func (c *authCache) putClass(cl Classification) {
	e := newCachedClass(cl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.projects[cl.ProjectID]; p != nil {
		c.projectClassesLocked(p).bySlug[cl.Slug] = e
	}
}

func (c *authCache) deleteClass(projectID, slug string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.classes[projectID]; pc != nil {
		delete(pc.bySlug, slug)
	}
}

// loadClasses reads every classification into the cache; the projects
// are cached already. skip decides what an unreadable record does.
func (c *authCache) loadClasses(tx kvTx, skip func(bucket, k []byte, err error) error) error {
	err := tx.Bucket(bucketClassifications).ForEach(func(k, v []byte) error {
		var cl Classification
		if err := decodeClassification(v, &cl); err != nil {
			return skip(bucketClassifications, k, err)
		}
		c.putClass(cl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("keystore: load classifications: %w", err)
	}
	return nil
}
