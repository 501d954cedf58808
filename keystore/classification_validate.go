package keystore

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// normalizeClassification validates in as classification slug and returns
// it with its defaults filled in (name: the slug; mask: DefaultMask).
// Errors are *FieldError naming the admin API's JSON field
// ("mask.show_last").
func normalizeClassification(in ClassificationInput, slug string) (Classification, error) {
	switch {
	case slug == "":
		return Classification{}, invalid("slug", "is required: a-z, 0-9, - and _, at most %d characters, such as pii", MaxSlugLen)
	case !ValidSlug(slug):
		return Classification{}, invalid("slug", "%q is not a slug (a-z, 0-9, - and _, at most %d characters)", slug, MaxSlugLen)
	case slug == NoClassification:
		return Classification{}, errBuiltin("created")
	}
	c := Classification{Slug: slug, Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description), Mask: DefaultMask}
	if c.Name == "" {
		c.Name = slug
	}
	if err := validText(c.Name, maxNameLen); err != nil {
		return Classification{}, invalid("name", "%s", err)
	}
	if err := validText(c.Description, MaxDescriptionLen); err != nil {
		return Classification{}, invalid("description", "%s", err)
	}
	if in.Mask != nil {
		if err := validMask(*in.Mask); err != nil {
			return Classification{}, err
		}
		c.Mask = *in.Mask
	}
	return c, nil
}

// validText checks a name or description: valid UTF-8, at most max
// characters, no control characters (a description may hold line breaks).
func validText(s string, max int) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return fmt.Errorf("must be at most %d characters", max)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		return fmt.Errorf("must not hold control characters")
	}
	return nil
}

// validMask checks a mask.
func validMask(m Mask) error {
	if m.ShowFirst < 0 || m.ShowFirst > MaxMaskShow {
		return invalid("mask.show_first", "must be from 0 to %d", MaxMaskShow)
	}
	if m.ShowLast < 0 || m.ShowLast > MaxMaskShow {
		return invalid("mask.show_last", "must be from 0 to %d", MaxMaskShow)
	}
	r, size := utf8.DecodeRuneInString(m.Char)
	switch {
	case m.Char == "" || size != len(m.Char) || r == utf8.RuneError:
		return invalid("mask.char", "must be exactly one character, such as * (got %q)", m.Char)
	case !unicode.IsGraphic(r) || unicode.Is(unicode.M, r):
		return invalid("mask.char", "%q is not a printable character", m.Char)
	}
	return nil
}

// checkDefined checks that project defines every slug of list (an input
// list, so indices name the caller's entries: "classifications[1]").
func checkDefined(tx kvTx, projectID, field string, list []string) error {
	for i, slug := range list {
		if !classificationDefined(tx, projectID, slug) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "no such classification %q in this project (create it first)", slug)
		}
	}
	return nil
}

// checkRouteClassification checks that the classification of a route's
// request rule, if any, is defined in project.
func checkRouteClassification(tx kvTx, projectID string, r *Route) error {
	if r.Request == nil || r.Request.Classification == "" || classificationDefined(tx, projectID, r.Request.Classification) {
		return nil
	}
	return invalid("request.classification", "no such classification %q in this project (create it first)", r.Request.Classification)
}

// checkUnused returns an *InUseError when an active key's scope or a
// route's request rule of project names slug.
func (s *Store) checkUnused(tx kvTx, projectID, slug string) error {
	e := &InUseError{Slug: slug}
	keys, err := projectKeys(tx, projectID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, k := range keys {
		if k.Status(now) == StatusActive && slices.Contains(k.Classifications, slug) {
			e.Keys = append(e.Keys, k.ID)
		}
	}
	routes, err := projectRoutes(tx, projectID)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Request != nil && r.Request.Classification == slug {
			e.Routes = append(e.Routes, r.ID)
		}
	}
	if len(e.Keys) == 0 && len(e.Routes) == 0 {
		return nil
	}
	slices.Sort(e.Keys)
	slices.Sort(e.Routes)
	return e
}

// migrateClassifications defines, in every project, each slug that one of
// its keys or routes names but the project does not define yet (as stores
// written before classifications were managed objects hold): name the
// slug, DefaultMask, created now. Running it again changes nothing.
func migrateClassifications(tx kvTx, now time.Time) error {
	projects, classes := tx.Bucket(bucketProjects), tx.Bucket(bucketClassifications)
	define := func(projectID, slug string) error {
		if !ValidSlug(slug) || projects.Get([]byte(projectID)) == nil || classificationDefined(tx, projectID, slug) {
			return nil
		}
		return putClassification(classes, Classification{
			Slug: slug, ProjectID: projectID, Name: slug, Mask: DefaultMask, CreatedAt: now, UpdatedAt: now,
		})
	}
	err := tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
		var rec keyRecord
		if rec.UnmarshalJSON(v) != nil {
			// A record no instance can read defines nothing: the
			// caches leave it out (the key is refused), and one such
			// record (written by another version, or corrupt) must not
			// stop every instance from starting.
			return nil
		}
		for _, slug := range rec.Classifications {
			if err := define(rec.ProjectID, slug); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate classifications of keys: %w", err)
	}
	err = tx.Bucket(bucketRoutes).ForEach(func(_, v []byte) error {
		var r Route
		if decodeRoute(v, &r) != nil {
			return nil // as above: its project is refused while it is unreadable
		}
		if r.Request == nil || r.Request.Classification == "" {
			return nil
		}
		return define(r.ProjectID, r.Request.Classification)
	})
	if err != nil {
		return fmt.Errorf("migrate classifications of routes: %w", err)
	}
	return nil
}
