package keystore

import "testing"

// TestCopyAgainAfterServeRanNoConflict: once any instance has run on
// the destination (serve calls TakeExpired every 30 s, which moves
// meta/expiry_checkpoint), running the same copy again reports no
// conflict on that checkpoint (the later one is kept); a conflict there
// would teach operators --overwrite, which replaces every other differing
// record that is not guarded.
func TestCopyAgainAfterServeRanNoConflict(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	mustProject(t, src, "p")
	if _, err := src.TakeExpired(); err != nil { // the bbolt instance ran too
		t.Fatal(err)
	}
	dst := openEtcdTestStore(t, startEtcd(t), c)
	mustCopy(t, dst, src, CopyOptions{})
	c.Advance(30e9)
	if _, err := dst.TakeExpired(); err != nil { // an instance on etcd ran for 30 s
		t.Fatal(err)
	}
	r := mustCopy(t, dst, src, CopyOptions{})
	if n := r.Total().Conflicts; n > 0 {
		t.Errorf("copying again after an instance ran on the destination: %d conflict(s) %+v (exit status 1)", n, r.Conflicts)
	}
}
