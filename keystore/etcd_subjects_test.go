package keystore

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"testing"
)

// TestEtcdSubjectErasePropagation: a subject sealed on A opens on B with
// the same secret (one secret per subject across instances); erased on A,
// it is refused on B within the propagation time, even though B had it
// cached; other subjects still open on B.
func TestEtcdSubjectErasePropagation(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "erase")
	ka, err := a.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := ka.SubjectRef([]byte("ann"))
	bob, _ := ka.SubjectRef([]byte("bob"))
	v, aead := sealOpen(t, ka, ann[:])
	sealOpen(t, ka, bob[:])
	nonce := make([]byte, 12)
	ct := aead.Seal(nil, nonce, []byte("x"), nil)
	var kb *Keyring
	eventually(t, propagation, "A's data key on B", func() error {
		if kb, err = b.Keyring(p.ID); err != nil {
			return err
		}
		o, err := kb.SubjectOpenKey(v, ann[:])
		if err != nil {
			return err
		}
		_, err = o.Open(nil, nonce, ct, nil)
		return err
	})
	if refB, _ := kb.SubjectRef([]byte("ann")); refB != ann {
		t.Fatal("B computes another reference for the same subject")
	}
	if _, _, err := a.EraseSubject(p.ID, []byte("ann")); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, propagation, "erase on A refused on B", func() error {
		if _, err := kb.SubjectOpenKey(v, ann[:]); !errors.Is(err, ErrSubjectErased) {
			return fmt.Errorf("B.SubjectOpenKey = %v, want ErrSubjectErased", err)
		}
		return nil
	})
	t.Logf("erase on A → refused on B after %s", took)
	if _, _, err := kb.SubjectSealKey(ann[:], 1); !errors.Is(err, ErrSubjectErased) {
		t.Errorf("B.SubjectSealKey(erased) = %v, want ErrSubjectErased", err)
	}
	if _, err := kb.SubjectOpenKey(v, bob[:]); err != nil {
		t.Errorf("B.SubjectOpenKey(bob) = %v, want nil", err)
	}
	if err := b.FlushSubjectCounts(); err != nil {
		t.Fatal(err)
	}
	info, err := b.Subject(p.ID, []byte("ann"))
	if err != nil || info.State != SubjectErased {
		t.Errorf("B.Subject(ann) = %+v, %v; want erased", info, err)
	}
}

// TestEtcdSubjectOneSecret: A and B seal for a new subject at the same
// time; both end up with the one secret, so each opens the other's value.
func TestEtcdSubjectOneSecret(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a, b := openEtcdTestStore(t, ep, c), openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "race")
	ka, _ := a.Keyring(p.ID)
	ref, _ := ka.SubjectRef([]byte("new-subject")) // creates data key v1
	var kb *Keyring
	eventually(t, propagation, "the data key on B", func() error {
		var err error
		if kb, err = b.Keyring(p.ID); err != nil {
			return err
		}
		_, err = kb.OpenKey(1)
		return err
	})
	type sealed struct {
		v    uint32
		aead cipher.AEAD
		err  error
	}
	done := make(chan sealed, 2)
	for _, k := range []*Keyring{ka, kb} {
		go func() {
			v, aead, err := k.SubjectSealKey(ref[:], 1)
			done <- sealed{v, aead, err}
		}()
	}
	nonce := make([]byte, 12)
	var cts [][]byte
	var v uint32
	for range 2 {
		s := <-done
		if s.err != nil {
			t.Fatal(s.err)
		}
		v = s.v
		cts = append(cts, s.aead.Seal(nil, nonce, []byte("x"), nil))
	}
	for name, k := range map[string]*Keyring{"A": ka, "B": kb} {
		o, err := k.SubjectOpenKey(v, ref[:])
		if err != nil {
			t.Fatalf("%s.SubjectOpenKey = %v", name, err)
		}
		for i, ct := range cts {
			if _, err := o.Open(nil, nonce, ct, nil); err != nil {
				t.Errorf("%s cannot open seal %d: two secrets were made for one subject", name, i)
			}
		}
	}
}
