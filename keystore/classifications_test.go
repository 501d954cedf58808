package keystore

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

func classSlugs(list []Classification) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.Slug
	}
	return out
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("%s = %v, want a FieldError on %q", what, err, field)
	}
}

func TestClassificationCRUD(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "a")

	pii, err := s.CreateClassification(p.ID, ClassificationInput{Slug: "pii"})
	if err != nil {
		t.Fatalf("CreateClassification(pii) = %v", err)
	}
	want := Classification{Slug: "pii", ProjectID: p.ID, Name: "pii", Mask: DefaultMask, CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if pii != want {
		t.Errorf("CreateClassification(pii) = %+v, want %+v (name the slug, the default mask)", pii, want)
	}
	card, err := s.CreateClassification(p.ID, ClassificationInput{
		Slug: "card", Name: " Card numbers ", Description: "PANs", Mask: &Mask{ShowFirst: 6, ShowLast: 4, Char: "•"},
	})
	if err != nil || card.Name != "Card numbers" || card.Description != "PANs" || card.Mask != (Mask{6, 4, "•"}) {
		t.Errorf("CreateClassification(card) = %+v, %v, want the name trimmed and the mask given", card, err)
	}
	if _, err := s.CreateClassification(p.ID, ClassificationInput{Slug: "pii"}); !errors.Is(err, ErrClassificationExists) {
		t.Errorf("CreateClassification(pii again) = %v, want ErrClassificationExists", err)
	}
	if _, err := s.CreateClassification("prj_nope", ClassificationInput{Slug: "pii"}); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("CreateClassification(unknown project) = %v, want ErrProjectNotFound", err)
	}

	list, err := s.Classifications(p.ID)
	if err != nil || !slices.Equal(classSlugs(list), []string{"card", "none", "pii"}) {
		t.Fatalf("Classifications() = %v, %v, want card, none, pii (sorted by slug, none built in)", classSlugs(list), err)
	}
	if none := list[1]; !none.Builtin || none.Mask != DefaultMask || !none.CreatedAt.Equal(p.CreatedAt) || none.ProjectID != p.ID {
		t.Errorf("Classifications() none = %+v, want the built-in one with the default mask, created with the project", none)
	}
	if got, err := s.Classification(p.ID, "card"); err != nil || got != card {
		t.Errorf("Classification(card) = %+v, %v, want %+v", got, err, card)
	}
	if got, err := s.Classification(p.ID, "none"); err != nil || !got.Builtin {
		t.Errorf("Classification(none) = %+v, %v, want the built-in one", got, err)
	}
	if _, err := s.Classification(p.ID, "phi"); !errors.Is(err, ErrClassificationNotFound) {
		t.Errorf("Classification(phi) = %v, want ErrClassificationNotFound", err)
	}
	if _, err := s.Classification("prj_nope", "none"); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("Classification(unknown project, none) = %v, want ErrProjectNotFound", err)
	}

	// Update replaces the whole: what the input leaves out takes its default.
	c.Advance(time.Minute)
	up, err := s.UpdateClassification(p.ID, "card", ClassificationInput{Slug: "card", Mask: &Mask{ShowLast: 2, Char: "#"}})
	want = Classification{Slug: "card", ProjectID: p.ID, Name: "card", Mask: Mask{0, 2, "#"}, CreatedAt: card.CreatedAt, UpdatedAt: c.Now()}
	if err != nil || up != want {
		t.Errorf("UpdateClassification(card) = %+v, %v, want %+v", up, err, want)
	}
	if _, err := s.UpdateClassification(p.ID, "phi", ClassificationInput{}); !errors.Is(err, ErrClassificationNotFound) {
		t.Errorf("UpdateClassification(phi) = %v, want ErrClassificationNotFound", err)
	}

	gone, err := s.DeleteClassification(p.ID, "card")
	if err != nil || gone != up {
		t.Errorf("DeleteClassification(card) = %+v, %v, want it as it was: %+v", gone, err, up)
	}
	if _, err := s.DeleteClassification(p.ID, "card"); !errors.Is(err, ErrClassificationNotFound) {
		t.Errorf("DeleteClassification(card again) = %v, want ErrClassificationNotFound", err)
	}
	if list, _ := s.Classifications(p.ID); !slices.Equal(classSlugs(list), []string{"none", "pii"}) {
		t.Errorf("Classifications() after the delete = %v, want none, pii", classSlugs(list))
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func TestClassificationValidation(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "v")
	mustClass(t, s, p.ID, "pii")
	long := strings.Repeat("x", 201)
	mask := func(first, last int, char string) *Mask { return &Mask{first, last, char} }
	cases := []struct {
		name  string
		in    ClassificationInput
		field string
	}{
		{"slug missing", ClassificationInput{}, "slug"},
		{"slug upper case", ClassificationInput{Slug: "PII"}, "slug"},
		{"slug too long", ClassificationInput{Slug: strings.Repeat("a", 65)}, "slug"},
		{"slug none", ClassificationInput{Slug: "none"}, "slug"},
		{"name too long", ClassificationInput{Slug: "a", Name: long}, "name"},
		{"name control", ClassificationInput{Slug: "a", Name: "a\x1b[2J"}, "name"},
		{"name invalid UTF-8", ClassificationInput{Slug: "a", Name: "a\xff"}, "name"},
		{"description too long", ClassificationInput{Slug: "a", Description: strings.Repeat("d", MaxDescriptionLen+1)}, "description"},
		{"show_first negative", ClassificationInput{Slug: "a", Mask: mask(-1, 4, "*")}, "mask.show_first"},
		{"show_first too big", ClassificationInput{Slug: "a", Mask: mask(MaxMaskShow+1, 4, "*")}, "mask.show_first"},
		{"show_last negative", ClassificationInput{Slug: "a", Mask: mask(0, -4, "*")}, "mask.show_last"},
		{"show_last too big", ClassificationInput{Slug: "a", Mask: mask(0, 1000, "*")}, "mask.show_last"},
		{"char empty", ClassificationInput{Slug: "a", Mask: mask(0, 4, "")}, "mask.char"},
		{"char two", ClassificationInput{Slug: "a", Mask: mask(0, 4, "**")}, "mask.char"},
		{"char control", ClassificationInput{Slug: "a", Mask: mask(0, 4, "\n")}, "mask.char"},
		{"char combining", ClassificationInput{Slug: "a", Mask: mask(0, 4, "\u0301")}, "mask.char"},
		{"char invalid UTF-8", ClassificationInput{Slug: "a", Mask: mask(0, 4, "\xff")}, "mask.char"},
		{"char bidi override", ClassificationInput{Slug: "a", Mask: mask(0, 4, "\u202e")}, "mask.char"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateClassification(p.ID, tc.in)
			wantField(t, "CreateClassification("+tc.name+")", err, tc.field)
		})
	}
	_, err := s.UpdateClassification(p.ID, "pii", ClassificationInput{Slug: "phi"})
	wantField(t, "UpdateClassification(pii, slug phi)", err, "slug")
	_, err = s.UpdateClassification(p.ID, "pii", ClassificationInput{Mask: mask(0, 4, "ab")})
	wantField(t, "UpdateClassification(pii, char ab)", err, "mask.char")
	_, err = s.UpdateClassification(p.ID, "none", ClassificationInput{Name: "x"})
	wantField(t, "UpdateClassification(none)", err, "slug")
	_, err = s.DeleteClassification(p.ID, "none")
	wantField(t, "DeleteClassification(none)", err, "slug")
	if list, _ := s.Classifications(p.ID); !slices.Equal(classSlugs(list), []string{"none", "pii"}) || list[1].Mask != DefaultMask {
		t.Errorf("Classifications() after refused calls = %+v, want none and pii unchanged", list)
	}
}

func TestClassificationReferences(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "refs")
	q := mustProject(t, s, "other")
	mustClass(t, s, p.ID, "pii", "card")
	mustClass(t, s, q.ID, "phi")

	_, err := s.CreateKey(p.ID, KeyInput{Classifications: []string{"pii", "phi"}})
	wantField(t, "CreateKey(pii, phi of another project)", err, "classifications[1]")
	if err == nil || !strings.Contains(err.Error(), `no such classification "phi"`) {
		t.Errorf("CreateKey(pii, phi) = %v, want it to say no such classification \"phi\"", err)
	}
	_, err = s.CreateKey(p.ID, KeyInput{Classifications: []string{"pii", "Not A Slug"}})
	wantField(t, "CreateKey(not a slug)", err, "classifications[1]")
	if _, err := s.CreateKey("prj_nope", KeyInput{Classifications: []string{"x"}}); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("CreateKey(unknown project, x) = %v, want ErrProjectNotFound first", err)
	}
	if k, err := s.CreateKey(p.ID, KeyInput{Classifications: []string{"card", "none", "pii", "card"}}); err != nil || !slices.Equal(k.Classifications, []string{"card", "none", "pii"}) {
		t.Errorf("CreateKey(card, none, pii, card) = %+v, %v, want the three, none included", k.Key, err)
	}

	phi := postsRoute()
	phi.Request.Classification = "phi"
	_, err = s.CreateRoute(p.ID, phi)
	wantField(t, "CreateRoute(classification phi)", err, "request.classification")
	none := postsRoute()
	none.Request.Classification = "none"
	r := mustRoute(t, s, p.ID, none)
	_, err = s.UpdateRoute(p.ID, r.ID, phi)
	wantField(t, "UpdateRoute(classification phi)", err, "request.classification")
	if got, _ := s.Route(p.ID, r.ID); got.Request.Classification != "none" {
		t.Errorf("route after a refused update = %+v, want it unchanged", got.Request)
	}
}

func TestDeleteClassificationInUse(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "use")
	mustClass(t, s, p.ID, "pii", "card")
	k1 := mustKey(t, s, p.ID, KeyInput{Classifications: []string{"pii"}})
	k2 := mustKey(t, s, p.ID, KeyInput{Classifications: []string{"card", "pii"}})
	exp := c.Now().Add(time.Hour)
	k3 := mustKey(t, s, p.ID, KeyInput{Classifications: []string{"card"}, ExpiresAt: &exp})
	r := mustRoute(t, s, p.ID, func() RouteInput { in := postsRoute(); in.Request.Classification = "pii"; return in }())

	_, err := s.DeleteClassification(p.ID, "pii")
	var iu *InUseError
	if !errors.As(err, &iu) || !errors.Is(err, ErrClassificationInUse) {
		t.Fatalf("DeleteClassification(pii) = %v, want an InUseError", err)
	}
	if want := slices.Sorted(slices.Values([]string{k1.ID, k2.ID})); iu.Slug != "pii" || !slices.Equal(iu.Keys, want) || !slices.Equal(iu.Routes, []string{r.ID}) {
		t.Errorf("DeleteClassification(pii) = %+v, want keys %v and route %s", iu, want, r.ID)
	}
	for _, id := range append(iu.Keys, r.ID) {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("DeleteClassification(pii) message %q, want it to name %s", err, id)
		}
	}
	if _, err := s.Classification(p.ID, "pii"); err != nil {
		t.Errorf("Classification(pii) after a refused delete = %v, want it kept", err)
	}

	// Revoked and expired keys do not count; routes do until changed.
	if _, err := s.RevokeKey(p.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(p.ID, k2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.DeleteClassification(p.ID, "pii")
	if !errors.As(err, &iu) || len(iu.Keys) != 0 || !slices.Equal(iu.Routes, []string{r.ID}) {
		t.Errorf("DeleteClassification(pii) with the keys revoked = %v, want the route alone named", err)
	}
	if _, err := s.UpdateRoute(p.ID, r.ID, postsRouteWithout()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteClassification(p.ID, "pii"); err != nil {
		t.Errorf("DeleteClassification(pii) unused = %v, want nil", err)
	}
	if _, err := s.DeleteClassification(p.ID, "card"); !errors.As(err, &iu) || !slices.Equal(iu.Keys, []string{k3.ID}) {
		t.Errorf("DeleteClassification(card) = %v, want key %s named", err, k3.ID)
	}
	c.Advance(2 * time.Hour)
	if _, err := s.DeleteClassification(p.ID, "card"); err != nil {
		t.Errorf("DeleteClassification(card) once its key expired = %v, want nil", err)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

// postsRouteWithout is postsRoute without a classification.
func postsRouteWithout() RouteInput {
	in := postsRoute()
	in.Request.Classification = ""
	return in
}

// TestClassificationDeleteRacesKey: a key naming a classification and the
// classification's delete, run together, never leave a key naming an
// undefined slug.
func TestClassificationDeleteRacesKey(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "race")
	for i := range 30 {
		mustClass(t, s, p.ID, "pii")
		var wg sync.WaitGroup
		var keyErr, delErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, keyErr = s.CreateKey(p.ID, KeyInput{Classifications: []string{"pii"}}) }()
		go func() { defer wg.Done(); _, delErr = s.DeleteClassification(p.ID, "pii") }()
		wg.Wait()
		if (keyErr == nil) == (delErr == nil) {
			t.Fatalf("round %d: CreateKey = %v, DeleteClassification = %v, want exactly one to fail", i, keyErr, delErr)
		}
		if keyErr == nil { // clear the way for the next round
			keys, _ := s.Keys(p.ID)
			for _, k := range keys {
				s.RevokeKey(p.ID, k.ID)
			}
			if _, err := s.DeleteClassification(p.ID, "pii"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestClassificationMigration(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openTestStore(t, dir, c)
	p := mustProject(t, s, "old")
	mustClass(t, s, p.ID, "pii", "card", "keep")
	if _, err := s.UpdateClassification(p.ID, "keep", ClassificationInput{Name: "Kept", Mask: &Mask{ShowFirst: 1, Char: "x"}}); err != nil {
		t.Fatal(err)
	}
	mustKey(t, s, p.ID, KeyInput{Classifications: []string{"pii", "keep", "none"}})
	in := postsRoute()
	in.Request.Classification = "card"
	mustRoute(t, s, p.ID, in)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// An older store: no classification records, pii and card named
	// nonetheless; keep's record stays as it was.
	db, err := bolt.Open(s.Path(), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClassifications)
		if err := b.Delete([]byte(classKey(p.ID, "pii"))); err != nil {
			return err
		}
		return b.Delete([]byte(classKey(p.ID, "card")))
	})
	if err != nil || db.Close() != nil {
		t.Fatal(err)
	}

	c.Advance(time.Hour)
	migrated := c.Now()
	s2 := openTestStore(t, dir, c)
	list, err := s2.Classifications(p.ID)
	if err != nil || !slices.Equal(classSlugs(list), []string{"card", "keep", "none", "pii"}) {
		t.Fatalf("Classifications() after reopening = %v, %v, want card, keep, none, pii", classSlugs(list), err)
	}
	for _, cl := range []Classification{list[0], list[3]} {
		if cl.Name != cl.Slug || cl.Mask != DefaultMask || !cl.CreatedAt.Equal(migrated) {
			t.Errorf("migrated %s = %+v, want name the slug, the default mask, created at the reopening", cl.Slug, cl)
		}
	}
	if list[1].Name != "Kept" || list[1].Mask != (Mask{1, 0, "x"}) {
		t.Errorf("keep after the migration = %+v, want it untouched", list[1])
	}
	if _, ok := s2.CachedClassification([]byte(p.ID), []byte("pii")); !ok {
		t.Error("CachedClassification(pii) after the migration = false, want it cached")
	}
	for _, d := range cacheDiff(s2) {
		t.Error(d)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}

	// Again: nothing changes.
	c.Advance(time.Hour)
	s3 := openTestStore(t, dir, c)
	again, err := s3.Classifications(p.ID)
	if err != nil || !slices.Equal(again, list) {
		t.Errorf("Classifications() after a second reopening = %+v, %v, want %+v unchanged", again, err, list)
	}
}

// TestClassificationMigrationNoBucket opens a store written before the
// classifications bucket existed.
func TestClassificationMigrationNoBucket(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openTestStore(t, dir, c)
	p := mustProject(t, s, "older")
	mustClass(t, s, p.ID, "pii")
	mustKey(t, s, p.ID, KeyInput{Classifications: []string{"pii"}})
	s.Close()
	db, err := bolt.Open(s.Path(), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketClassifications) }); err != nil || db.Close() != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, c)
	if cl, err := s2.Classification(p.ID, "pii"); err != nil || cl.Name != "pii" {
		t.Errorf("Classification(pii) after reopening a store without the bucket = %+v, %v, want it defined", cl, err)
	}
}

func TestDeleteProjectDeletesClassifications(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "gone")
	q := mustProject(t, s, "stays")
	mustClass(t, s, p.ID, "pii")
	mustClass(t, s, q.ID, "pii")
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	s.kv.View(func(tx kvTx) error {
		if n := countPrefix(tx.Bucket(bucketClassifications), p.ID+"/"); n != 0 {
			t.Errorf("stored classifications of the deleted project = %d, want 0", n)
		}
		return nil
	})
	if _, ok := s.CachedClassification([]byte(p.ID), []byte("pii")); ok {
		t.Error("CachedClassification(deleted project, pii) = true, want false")
	}
	if _, ok := s.CachedClassification([]byte(q.ID), []byte("pii")); !ok {
		t.Error("CachedClassification(other project, pii) = false, want true")
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}

func TestCachedClassification(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "cache")
	id := []byte(p.ID)
	for _, slug := range []string{"", "none"} {
		if cl, ok := s.CachedClassification(id, []byte(slug)); !ok || !cl.Builtin || cl.Mask != DefaultMask {
			t.Errorf("CachedClassification(%q) = %+v, %t, want the built-in none", slug, cl, ok)
		}
		if m := s.CachedMask(id, []byte(slug)); m == nil || *m != fieldcrypt.DefaultMask {
			t.Errorf("CachedMask(%q) = %+v, want fieldcrypt.DefaultMask", slug, m)
		}
	}
	if _, ok := s.CachedClassification(id, []byte("pii")); ok {
		t.Error("CachedClassification(pii) before it exists = true, want false")
	}
	if m := s.CachedMask(id, []byte("pii")); m != nil {
		t.Errorf("CachedMask(pii) before it exists = %+v, want nil", m)
	}
	if _, ok := s.CachedClassification([]byte("prj_nope"), []byte("none")); ok {
		t.Error("CachedClassification(unknown project, none) = true, want false")
	}
	if _, err := s.CreateClassification(p.ID, ClassificationInput{Slug: "pii", Mask: &Mask{ShowFirst: 2, ShowLast: 1, Char: "•"}}); err != nil {
		t.Fatal(err)
	}
	if m := s.CachedMask(id, []byte("pii")); m == nil || *m != (fieldcrypt.Mask{ShowFirst: 2, ShowLast: 1, Char: '•'}) {
		t.Errorf("CachedMask(pii) = %+v, want {2 1 •}", m)
	}
	before, _ := s.CachedClassification(id, []byte("pii"))
	if _, err := s.UpdateClassification(p.ID, "pii", ClassificationInput{Name: "Personal"}); err != nil {
		t.Fatal(err)
	}
	if cl, ok := s.CachedClassification(id, []byte("pii")); !ok || cl.Name != "Personal" || cl.Mask != DefaultMask {
		t.Errorf("CachedClassification(pii) after the update = %+v, want the new name and the default mask", cl)
	}
	if before.Name != "pii" {
		t.Errorf("a classification CachedClassification returned before an update = %+v, want it unchanged", before)
	}
	if _, err := s.DeleteClassification(p.ID, "pii"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.CachedClassification(id, []byte("pii")); ok {
		t.Error("CachedClassification(pii) after the delete = true, want false")
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}
