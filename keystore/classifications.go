package keystore

import (
	"fmt"
	"time"
)

// Classifications are a project's named kinds of data ("pii", "card"):
// the slug a token is tagged with, a name and description for people, and
// the mask a key with only decrypt_masked sees such values through. A
// key's scope and a route's request rule may name only slugs the project
// defines, and a classification cannot be deleted while an active key or a
// route names it. Tokens already tagged with a deleted slug still open for
// keys without a classification scope: the tag is part of the token, not
// a reference.

// NoClassification is the slug of untagged tokens. Every project has it
// implicitly, with DefaultMask: it is listed (as Builtin) but cannot be
// created, changed or deleted.
const NoClassification = "none"

// Limits of classifications.
const (
	// MaxClassifications is how many classifications one project defines
	// at most, NoClassification not counted.
	MaxClassifications = 1000
	// MaxMaskShow bounds Mask.ShowFirst and Mask.ShowLast.
	MaxMaskShow = 100
	// MaxDescriptionLen is the longest description, in characters.
	MaxDescriptionLen = 1000
)

// Mask is how a key with decrypt_masked (and not decrypt) sees a value of
// a classification: ShowFirst characters at the start and ShowLast at the
// end are shown, every other character is replaced by Char, and a value of
// at most ShowFirst+ShowLast characters is hidden whole.
type Mask struct {
	ShowFirst int // 0 to MaxMaskShow
	ShowLast  int // 0 to MaxMaskShow
	// Char is exactly one printable character (not a control, format or
	// combining character).
	Char string
}

// DefaultMask shows the last 4 characters and hides the others with '*'.
// It is the mask of NoClassification and of a classification created
// without one; callers must not modify it.
var DefaultMask = Mask{ShowFirst: 0, ShowLast: 4, Char: "*"}

// Classification is one classification of a project. One returned by
// CachedClassification is shared and must not be modified.
type Classification struct {
	// Slug is 1 to 64 characters of a-z, 0-9, '-' and '_' (ValidSlug);
	// it never changes.
	Slug      string
	ProjectID string
	// Name is 1 to 200 characters; it defaults to the slug.
	Name string
	// Description is at most MaxDescriptionLen characters; may be empty.
	Description string
	Mask        Mask
	// Builtin is true only for NoClassification, whose times are the
	// project's creation time.
	Builtin   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ClassificationInput is a whole classification to create, or to replace
// one with (as a PUT does: what it leaves empty takes its default).
type ClassificationInput struct {
	// Slug names the classification to create. On an update it may be
	// empty or the classification's own slug; any other is refused.
	Slug string
	// Name empty means the slug.
	Name        string
	Description string
	// Mask nil means DefaultMask.
	Mask *Mask
}

func classKey(projectID, slug string) string { return projectID + "/" + slug }

// CreateClassification validates in and adds it to project. The slug must
// be new to the project (ErrClassificationExists) and not
// NoClassification; a project holds at most MaxClassifications
// (ErrClassificationLimit).
func (s *Store) CreateClassification(projectID string, in ClassificationInput) (Classification, error) {
	c, err := normalizeClassification(in, in.Slug)
	if err != nil {
		return Classification{}, fmt.Errorf("keystore.CreateClassification %s: %w", projectID, err)
	}
	now := s.now()
	c.ProjectID, c.CreatedAt, c.UpdatedAt = projectID, now, now
	err = s.update(func(tx kvTx) error {
		if err := requireProject(tx, projectID); err != nil {
			return err
		}
		b := tx.Bucket(bucketClassifications)
		if b.Get([]byte(classKey(projectID, c.Slug))) != nil {
			return ErrClassificationExists
		}
		if countPrefix(b, projectID+"/") >= MaxClassifications {
			return ErrClassificationLimit
		}
		return putClassification(b, c)
	}, func() { s.cache.putClass(c) })
	if err != nil {
		return Classification{}, fmt.Errorf("keystore.CreateClassification %s: %w", projectID, err)
	}
	return c, nil
}

// UpdateClassification replaces the name, description and mask of
// classification slug of project with in's, as a PUT does. The slug and
// the creation time stay; NoClassification cannot be changed.
func (s *Store) UpdateClassification(projectID, slug string, in ClassificationInput) (Classification, error) {
	var c Classification
	err := s.update(func(tx kvTx) error {
		old, err := getClassification(tx, projectID, slug)
		if err != nil {
			return err
		}
		if old.Builtin {
			return errBuiltin("changed")
		}
		if in.Slug != "" && in.Slug != slug {
			return invalid("slug", "cannot be changed (it is %q); create a new classification instead", slug)
		}
		if c, err = normalizeClassification(in, slug); err != nil {
			return err
		}
		c.ProjectID, c.CreatedAt, c.UpdatedAt = projectID, old.CreatedAt, s.now()
		return putClassification(tx.Bucket(bucketClassifications), c)
	}, func() { s.cache.putClass(c) })
	if err != nil {
		return Classification{}, fmt.Errorf("keystore.UpdateClassification %s: %w", slug, err)
	}
	return c, nil
}

// DeleteClassification removes classification slug of project and returns
// it as it was. While an active key's scope or a route's request rule
// names it, it is refused with an *InUseError (ErrClassificationInUse)
// naming them; revoked and expired keys do not count. NoClassification
// cannot be deleted.
func (s *Store) DeleteClassification(projectID, slug string) (Classification, error) {
	var c Classification
	err := s.update(func(tx kvTx) error {
		var err error
		if c, err = getClassification(tx, projectID, slug); err != nil {
			return err
		}
		if c.Builtin {
			return errBuiltin("deleted")
		}
		if err := s.checkUnused(tx, projectID, slug); err != nil {
			return err
		}
		return tx.Bucket(bucketClassifications).Delete([]byte(classKey(projectID, slug)))
	}, func() { s.cache.deleteClass(projectID, slug) })
	if err != nil {
		return Classification{}, fmt.Errorf("keystore.DeleteClassification %s: %w", slug, err)
	}
	return c, nil
}

// Classification returns classification slug of project (the built-in
// one for NoClassification).
func (s *Store) Classification(projectID, slug string) (Classification, error) {
	var c Classification
	err := s.kv.View(func(tx kvTx) error {
		var err error
		c, err = getClassification(tx, projectID, slug)
		return err
	})
	if err != nil {
		return Classification{}, fmt.Errorf("keystore.Classification %s: %w", slug, err)
	}
	return c, nil
}

// Classifications returns every classification of project, the built-in
// NoClassification included, sorted by slug. The slice is the caller's.
func (s *Store) Classifications(projectID string) ([]Classification, error) {
	var out []Classification
	err := s.kv.View(func(tx kvTx) error {
		var p Project
		if err := getProject(tx.Bucket(bucketProjects), projectID, &p); err != nil {
			return err
		}
		var err error
		out, err = projectClassifications(tx, projectID)
		if err != nil {
			return err
		}
		out = insertSorted(out, builtinNone(p))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.Classifications %s: %w", projectID, err)
	}
	return out, nil
}

// builtinNone is NoClassification of project p.
func builtinNone(p Project) Classification {
	return Classification{
		Slug: NoClassification, ProjectID: p.ID, Name: "No classification",
		Description: "Tokens sealed without a classification. Built in: it cannot be changed or deleted.",
		Mask:        DefaultMask, Builtin: true, CreatedAt: p.CreatedAt, UpdatedAt: p.CreatedAt,
	}
}

// insertSorted inserts c into list, which is sorted by slug.
func insertSorted(list []Classification, c Classification) []Classification {
	i := 0
	for i < len(list) && list[i].Slug < c.Slug {
		i++
	}
	list = append(list, Classification{})
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

func errBuiltin(verb string) error {
	return invalid("slug", "%q is built in (the classification of untagged tokens) and cannot be %s", NoClassification, verb)
}
