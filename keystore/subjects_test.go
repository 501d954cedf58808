package keystore

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"os"
	"testing"
)

// sealOpen seals a value for ref and opens it, both through the keyring.
func sealOpen(t *testing.T, k *Keyring, ref []byte) (uint32, cipher.AEAD) {
	t.Helper()
	v, aead, err := k.SubjectSealKey(ref, 1)
	if err != nil {
		t.Fatalf("SubjectSealKey = %v", err)
	}
	nonce := make([]byte, 12)
	ct := aead.Seal(nil, nonce, []byte("x"), nil)
	o, err := k.SubjectOpenKey(v, ref)
	if err != nil {
		t.Fatalf("SubjectOpenKey(%d) = %v", v, err)
	}
	if pt, err := o.Open(nil, nonce, ct, nil); err != nil || string(pt) != "x" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	return v, aead
}

// TestSubjectLifecycle: a subject gets a secret on first seal, keys differ
// by subject, erasure refuses seals and opens for it alone, is idempotent,
// and survives a restart; the count is flushed.
func TestSubjectLifecycle(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	s := openTestStore(t, dir, c)
	p := mustProject(t, s, "subjects")
	k, err := s.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Subject(p.ID, []byte("user-42"))
	if err != nil || info.State != SubjectNone {
		t.Fatalf("Subject(unseen) = %+v, %v; want state none", info, err)
	}
	ann, _ := k.SubjectRef([]byte("user-42"))
	bob, _ := k.SubjectRef([]byte("user-43"))
	if ann == bob {
		t.Fatal("two subjects share a reference")
	}
	if again, _ := k.SubjectRef([]byte("user-42")); again != ann {
		t.Fatal("SubjectRef is not stable")
	}
	v, a1 := sealOpen(t, k, ann[:])
	_, b1 := sealOpen(t, k, bob[:])
	nonce := make([]byte, 12)
	if _, err := b1.Open(nil, nonce, a1.Seal(nil, nonce, []byte("x"), nil), nil); err == nil {
		t.Fatal("bob's key opens ann's value")
	}
	for range 4 {
		sealOpen(t, k, ann[:])
	}
	if err := s.FlushSubjectCounts(); err != nil {
		t.Fatal(err)
	}
	info, err = s.Subject(p.ID, []byte("user-42"))
	if err != nil || info.State != SubjectActive || info.Sealed != 5 || info.CreatedAt == nil {
		t.Fatalf("Subject(ann) = %+v, %v; want active, 5 sealed", info, err)
	}
	info, erased, err := s.EraseSubject(p.ID, []byte("user-42"))
	if err != nil || !erased || info.State != SubjectErased || info.ErasedAt == nil || info.Sealed != 5 {
		t.Fatalf("EraseSubject = %+v, %v, %v; want erased", info, erased, err)
	}
	if _, err := k.SubjectOpenKey(v, ann[:]); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("SubjectOpenKey(erased) = %v, want ErrSubjectErased", err)
	}
	if _, _, err := k.SubjectSealKey(ann[:], 1); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("SubjectSealKey(erased) = %v, want ErrSubjectErased", err)
	}
	sealOpen(t, k, bob[:]) // others unaffected
	if _, erased, err := s.EraseSubject(p.ID, []byte("user-42")); err != nil || erased {
		t.Errorf("EraseSubject(again) = %v, %v; want false, nil", erased, err)
	}
	// A subject erased before any value: nothing is ever sealed for it.
	if _, erased, err := s.EraseSubject(p.ID, []byte("never-seen")); err != nil || !erased {
		t.Fatalf("EraseSubject(never seen) = %v, %v", erased, err)
	}
	never, _ := k.SubjectRef([]byte("never-seen"))
	if _, _, err := k.SubjectSealKey(never[:], 1); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("SubjectSealKey(erased before use) = %v, want ErrSubjectErased", err)
	}
	if _, err := k.SubjectOpenKey(v, make([]byte, 16)); !errors.Is(err, ErrNotFound) {
		t.Errorf("SubjectOpenKey(unknown subject) = %v, want ErrNotFound", err)
	}
	if _, err := k.SubjectRef(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SubjectRef(empty) = %v, want ErrInvalid", err)
	}
}

// TestSubjectRestartAndRotation: after a restart, and after the data key
// rotates, a subject keeps its reference and its tokens keep opening;
// erasure holds across the restart.
func TestSubjectRestartAndRotation(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "restart")
	k, _ := s.Keyring(p.ID)
	ann, _ := k.SubjectRef([]byte("ann"))
	bob, _ := k.SubjectRef([]byte("bob"))
	v, a := sealOpen(t, k, ann[:])
	sealOpen(t, k, bob[:])
	if _, err := s.RotateDataKey(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EraseSubject(p.ID, []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, c)
	k2, _ := s2.Keyring(p.ID)
	if ann2, _ := k2.SubjectRef([]byte("ann")); ann2 != ann {
		t.Fatal("the reference changed across a restart and a rotation")
	}
	o, err := k2.SubjectOpenKey(v, ann[:])
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	if _, err := o.Open(nil, nonce, a.Seal(nil, nonce, []byte("x"), nil), nil); err != nil {
		t.Fatalf("a token of v%d does not open after a restart: %v", v, err)
	}
	if v2, _, _ := k2.SubjectSealKey(ann[:], 1); v2 == v {
		t.Errorf("SubjectSealKey after rotation = v%d, want the new version", v2)
	}
	if _, err := k2.SubjectOpenKey(v, bob[:]); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("SubjectOpenKey(bob, after restart) = %v, want ErrSubjectErased", err)
	}
	info, _ := s2.Subject(p.ID, []byte("ann"))
	if info.Sealed != 2 { // one flushed by Close, one in memory
		t.Errorf("Subject(ann).Sealed = %d, want 2", info.Sealed)
	}
}

// TestSubjectIDNeverStored scans the raw bbolt file for subject ids.
func TestSubjectIDNeverStored(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "scan")
	k, _ := s.Keyring(p.ID)
	ids := []string{"subject-id-AAAA-1234@example.com", "subject-id-BBBB-5678"}
	for _, id := range ids {
		r, _ := k.SubjectRef([]byte(id))
		sealOpen(t, k, r[:])
	}
	if _, _, err := s.EraseSubject(p.ID, []byte(ids[1])); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if bytes.Contains(raw, []byte(id)) {
			t.Errorf("the store file holds the subject id %q", id)
		}
	}
}

// TestSubjectSealAllocs pins a subject seal with the subject cached to
// zero allocations.
func TestSubjectSealAllocs(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "allocs")
	k, _ := s.Keyring(p.ID)
	id := []byte("user-1")
	r, _ := k.SubjectRef(id)
	sealOpen(t, k, r[:])
	allocs := testing.AllocsPerRun(100, func() {
		ref, _ := k.SubjectRef(id)
		v, _, _ := k.SubjectSealKey(ref[:], 1)
		k.SubjectOpenKey(v, ref[:])
	})
	if allocs != 0 {
		t.Errorf("SubjectRef+SubjectSealKey+SubjectOpenKey allocate %v times, want 0", allocs)
	}
}

// TestSubjectKeyDocVector: SubjectKey gives the subject key printed in
// docs/token-format.md (fieldcrypt's TestSubjectDocVector checks the rest
// of that vector).
func TestSubjectKeyDocVector(t *testing.T) {
	unhex := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	got := SubjectKey(unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
		unhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"), "proj_docs", unhex("5c0a1f2e3d4c5b6a79881706f5e4d3c2"))
	const want = "de1841f008c988c10ad02eddea7f51475972894d3a17b12bb3960124a82e0961"
	if hex.EncodeToString(got) != want {
		t.Errorf("SubjectKey(doc vector) = %x, want %s", got, want)
	}
	doc, err := os.ReadFile("../docs/token-format.md")
	if err != nil || !bytes.Contains(doc, []byte(want)) {
		t.Errorf("docs/token-format.md does not show the subject key %s (%v)", want, err)
	}
}
