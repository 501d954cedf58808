package keystore

import (
	"errors"
	"testing"
	"time"
)

// TestCopyOverwriteKeepsErasure: a subject erased at the
// destination (crypto-shredding: its secret destroyed, its tokens never
// to open again) must stay erased when an older store is copied over it
// again, as a revoked key stays revoked. With --overwrite, Copy replaces
// the tombstone by the source's record, which still holds the wrapped
// secret: every token of the erased subject opens again.
func TestCopyOverwriteKeepsErasure(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "p")
	ann, err := mustKeyring(t, src, p.ID).SubjectRef([]byte("ann@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	v, aead := sealOpen(t, mustKeyring(t, src, p.ID), ann[:])
	nonce := make([]byte, 12)
	ct := aead.Seal(nil, nonce, []byte("ann's card"), nil) // a token of ann's

	ep := startEtcd(t)
	dst := openEtcdTestStore(t, ep, c)
	mustCopy(t, dst, src, CopyOptions{})
	eventually(t, 5*time.Second, "the copied project on dst", func() error { _, err := dst.Keyring(p.ID); return err })
	if _, erased, err := dst.EraseSubject(p.ID, []byte("ann@example.com")); err != nil || !erased {
		t.Fatalf("EraseSubject = %v, %v", erased, err)
	}

	report := mustCopy(t, dst, src, CopyOptions{Overwrite: true})
	fresh := openEtcdTestStore(t, ep, c) // an instance started after the copy
	info, err := fresh.Subject(p.ID, []byte("ann@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if info.State != SubjectErased {
		o, oerr := mustKeyring(t, fresh, p.ID).SubjectOpenKey(v, ann[:])
		var pt []byte
		if oerr == nil {
			pt, oerr = o.Open(nil, nonce, ct, nil)
		}
		t.Fatalf("after Copy(--overwrite) the subject erased at the destination is %q again (report %+v); its token opens: %q, %v",
			info.State, report.Total(), pt, oerr)
	}
	if _, err := mustKeyring(t, fresh, p.ID).SubjectOpenKey(v, ann[:]); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("SubjectOpenKey(erased) = %v, want ErrSubjectErased", err)
	}
}
