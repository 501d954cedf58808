package keystore

import (
	"errors"
	"testing"
	"time"
)

// TestCopyAgainKeepsDeletions: after a move from bbolt to etcd, a project
// deleted on etcd (say, because its keys leaked) does not come back, with
// its keys, when the same copy runs again: a destination that already
// holds projects takes the records it lacks only with Merge, and reports
// them otherwise. With Merge they are copied (a project new at the
// source).
func TestCopyAgainKeepsDeletions(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "leaky")
	k := mustKey(t, src, p.ID, KeyInput{})
	mustProject(t, src, "kept")
	ep := startEtcd(t)
	dst := openEtcdTestStore(t, ep, c)
	if got := mustCopy(t, dst, src, CopyOptions{}).Total(); got.Conflicts != 0 || got.Copied == 0 {
		t.Fatalf("Copy into an empty destination = %+v, want everything copied", got)
	}
	eventually(t, 5*time.Second, "the copied key on dst", func() error { _, err := dst.Authenticate([]byte(p.ID), []byte(k.Secret)); return err })
	if got := mustCopy(t, dst, src, CopyOptions{}).Total(); got.Conflicts != 0 || got.Copied != 0 {
		t.Errorf("Copy again with nothing changed = %+v, want 0 copied and no conflict", got)
	}
	if err := dst.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}

	report := mustCopy(t, dst, src, CopyOptions{Overwrite: true}) // not even with Overwrite
	if got := report.Total(); got.Copied != 0 || got.Conflicts == 0 {
		t.Errorf("Copy again after the project was deleted at the destination = %+v, want its records reported, none copied", got)
	}
	for _, cf := range report.Conflicts {
		if cf.Reason != conflictAbsent {
			t.Errorf("conflict %+v, want only records absent at the destination", cf)
		}
	}
	fresh := openEtcdTestStore(t, ep, c) // an instance started after the copy
	if _, err := fresh.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("the deleted project's key after copying again = %v, want ErrUnauthorized", err)
	}

	if got := mustCopy(t, dst, src, CopyOptions{Merge: true}).Total(); got.Conflicts != 0 || got.Copied == 0 {
		t.Errorf("Copy(Merge) = %+v, want the absent records copied", got)
	}
	eventually(t, 5*time.Second, "the merged key on dst", func() error { _, err := dst.Authenticate([]byte(p.ID), []byte(k.Secret)); return err })
}

// TestCopyAgainAfterKeyUse: a key used at the destination since the copy
// (its last_used_at moved on) is the same key: copying again reports no
// conflict for it, while a key revoked there still is one.
func TestCopyAgainAfterKeyUse(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "p")
	used := mustKey(t, src, p.ID, KeyInput{})
	revoked := mustKey(t, src, p.ID, KeyInput{})
	dst := openTestStore(t, "", c)
	mustCopy(t, dst, src, CopyOptions{})
	dst = reopenBolt(t, dst, c) // Copy writes beneath a bbolt destination's cache
	c.Advance(time.Minute)
	if _, err := dst.Authenticate([]byte(p.ID), []byte(used.Secret)); err != nil {
		t.Fatal(err)
	}
	if err := dst.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.RevokeKey(p.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	got := mustCopy(t, dst, src, CopyOptions{})
	if len(got.Conflicts) != 1 || got.Conflicts[0].Key != revoked.ID {
		t.Errorf("Copy again after one key was used and one revoked at the destination: conflicts %+v, want only the revoked key", got.Conflicts)
	}
}
