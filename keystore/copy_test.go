package keystore

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// TestCopyBoltEtcdBolt: a project with keys, routes, classifications and a
// sealed value, copied from bbolt to etcd and on to a fresh bbolt file:
// the token opens and the key authenticates at every step, copying again
// copies nothing, and the seal counter travels with the data key so the
// next reservation starts past it.
func TestCopyBoltEtcdBolt(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "moving")
	mustClass(t, src, p.ID, "pii")
	if _, err := src.CreateRoute(p.ID, RouteInput{Path: "/users/**", Request: &RoutePhase{Mode: "encrypt", Fields: []string{"email"}, Classification: "pii"}}); err != nil {
		t.Fatalf("CreateRoute = %v", err)
	}
	key, err := src.CreateKey(p.ID, KeyInput{Name: "app"})
	if err != nil {
		t.Fatalf("CreateKey = %v", err)
	}
	if _, err := src.CreateKey(p.ID, KeyInput{Name: "old"}); err != nil {
		t.Fatalf("CreateKey = %v", err)
	}
	token := sealValue(t, src, p.ID, `"alice@example.com"`)

	endpoints := startEtcd(t)
	etcd := openEtcdTestStore(t, endpoints, c)
	report := mustCopy(t, etcd, src, CopyOptions{})
	want := map[string]int{"projects": 1, "keys": 2, "project_keys": 2, "datakeys": 2, "routes": 1, "classifications": 1}
	for _, k := range report.Kinds {
		if k.Kind != "meta" && k.Copied != want[k.Kind] {
			t.Errorf("Copy(bbolt → etcd) copied %d %s, want %d", k.Copied, k.Kind, want[k.Kind])
		}
	}
	again := mustCopy(t, etcd, src, CopyOptions{})
	if got := again.Total(); got.Copied != 0 || got.Conflicts != 0 || got.Unchanged != report.Total().Copied {
		t.Errorf("Copy(bbolt → etcd) again = %+v, want 0 copied, %d unchanged", got, report.Total().Copied)
	}

	// A fresh instance on etcd: the key, the routes, the token, the counter.
	moved := openEtcdTestStore(t, endpoints, c)
	checkMoved(t, moved, p.ID, key.Secret, token)
	var from uint64
	moved.onReserve = func(_ string, _ uint32, f, _ uint64) { from = f }
	sealValue(t, moved, p.ID, `"bob"`)
	if from < reserveBlock {
		t.Errorf("first reservation after the copy starts at %d, want at least %d (the copied counter)", from, reserveBlock)
	}

	back := openTestStore(t, "", c)
	if got := mustCopy(t, back, moved, CopyOptions{}).Total(); got.Conflicts != 0 || got.Copied != report.Total().Copied {
		t.Errorf("Copy(etcd → bbolt) = %+v, want %d copied", got, report.Total().Copied)
	}
	back = reopenBolt(t, back, c) // Copy writes beneath the cache of a bbolt destination
	checkMoved(t, back, p.ID, key.Secret, token)
	if got := mustCopy(t, back, moved, CopyOptions{}).Total(); got.Copied != 0 {
		t.Errorf("Copy(etcd → bbolt) again = %+v, want 0 copied", got)
	}
}

// TestCopyConflicts: a record changed at the destination is reported and
// kept, or replaced with Overwrite; a seal counter that moved on at the
// source is raised at the destination, never lowered.
func TestCopyConflicts(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "p")
	sealValue(t, src, p.ID, `1`)
	dst := openTestStore(t, "", c)
	mustCopy(t, dst, src, CopyOptions{})

	name := "renamed"
	if _, err := dst.UpdateProject(p.ID, ProjectInput{Name: &name}); err != nil {
		t.Fatalf("UpdateProject = %v", err)
	}
	k, err := src.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.SealKey(reserveBlock + 10); err != nil { // moves the stored counter on
		t.Fatalf("SealKey = %v", err)
	}
	got := mustCopy(t, dst, src, CopyOptions{})
	if len(got.Conflicts) != 1 || got.Conflicts[0].Kind != "projects" || got.Conflicts[0].Key != p.ID {
		t.Errorf("Copy conflicts = %+v, want the one project", got.Conflicts)
	}
	if dk := got.Kinds[bucketIndex(bucketDataKeys)]; dk.Copied != 1 {
		t.Errorf("Copy datakeys = %+v, want the counter raised (1 copied)", dk)
	}
	if pp, _ := dst.Project(p.ID); pp.Name != "renamed" {
		t.Errorf("destination project name = %q after a conflict, want it kept", pp.Name)
	}
	srcDK, _ := src.DataKeys(p.ID)
	reopened := reopenBolt(t, dst, c)
	dstDK, _ := reopened.DataKeys(p.ID)
	if dstDK[0].Seals < srcDK[0].Seals {
		t.Errorf("destination seals %d after the copy, want at least the source's %d", dstDK[0].Seals, srcDK[0].Seals)
	}
	if got := mustCopy(t, reopened, src, CopyOptions{Overwrite: true}); got.Total().Conflicts != 0 || got.Kinds[bucketIndex(bucketProjects)].Copied != 1 {
		t.Errorf("Copy(Overwrite) = %+v, want the project replaced", got)
	}
}

// reopenBolt closes s and opens its file again, so its counters are read
// from the file.
func reopenBolt(t *testing.T, s *Store, c *clock) *Store {
	t.Helper()
	dir := s.Path()[:len(s.Path())-len(FileName)-1]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openTestStore(t, dir, c)
}

func mustCopy(t *testing.T, dst, src *Store, o CopyOptions) CopyReport {
	t.Helper()
	r, err := Copy(dst, src, o)
	if err != nil {
		t.Fatalf("Copy = %v", err)
	}
	return r
}

func sealValue(t *testing.T, s *Store, project, value string) string {
	t.Helper()
	k, err := s.Keyring(project)
	if err != nil {
		t.Fatalf("Keyring = %v", err)
	}
	tok, err := fieldcrypt.SealValue(nil, []byte(value), &fieldcrypt.Params{ProjectID: project, Keys: k})
	if err != nil {
		t.Fatalf("SealValue = %v", err)
	}
	return string(tok)
}

// checkMoved checks that s holds what the copy carried: the key
// authenticates, the route is there and the token opens.
func checkMoved(t *testing.T, s *Store, project, secret, token string) {
	t.Helper()
	if _, err := s.Authenticate([]byte(project), []byte(secret)); err != nil {
		t.Errorf("Authenticate after the copy = %v", err)
	}
	if routes, _ := s.CachedRoutes([]byte(project)); len(routes) != 1 {
		t.Errorf("routes after the copy = %d, want 1", len(routes))
	}
	k, err := s.Keyring(project)
	if err != nil {
		t.Fatalf("Keyring = %v", err)
	}
	plain, _, err := fieldcrypt.OpenToken(nil, []byte(token), &fieldcrypt.Params{ProjectID: project, Keys: k})
	if err != nil || !strings.Contains(string(plain), "alice") {
		t.Errorf("OpenToken after the copy = %q, %v", plain, err)
	}
}

// TestCopyOverwriteKeepsRevocations: copying an older store over a newer
// one with Overwrite does not bring back a key revoked at the
// destination, nor lower its minimum decryption version.
func TestCopyOverwriteKeepsRevocations(t *testing.T) {
	c := newClock()
	src := openTestStore(t, "", c)
	p := mustProject(t, src, "p")
	k := mustKey(t, src, p.ID, KeyInput{})
	sealValue(t, src, p.ID, `1`)
	dst := openTestStore(t, "", c)
	mustCopy(t, dst, src, CopyOptions{})
	if _, err := dst.RevokeKey(p.ID, k.ID); err != nil {
		t.Fatalf("RevokeKey = %v", err)
	}
	if _, err := dst.RotateDataKey(p.ID); err != nil {
		t.Fatalf("RotateDataKey = %v", err)
	}
	if _, err := dst.SetMinDecryptionVersion(p.ID, 2); err != nil {
		t.Fatalf("SetMinDecryptionVersion = %v", err)
	}
	got := mustCopy(t, dst, src, CopyOptions{Overwrite: true})
	kinds := map[string]bool{}
	for _, cf := range got.Conflicts {
		kinds[cf.Kind] = true
	}
	if !kinds["keys"] || !kinds["datakeys"] {
		t.Errorf("Copy(Overwrite) conflicts = %+v, want the key and the data-key state reported", got.Conflicts)
	}
	reopened := reopenBolt(t, dst, c)
	if _, err := reopened.Authenticate([]byte(p.ID), []byte(k.Secret)); err == nil {
		t.Errorf("the key revoked at the destination authenticates after Copy(Overwrite)")
	}
	dks, err := reopened.DataKeys(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dks {
		if d.Version == 1 && d.Status != "disabled" {
			t.Errorf("data-key version 1, retired at the destination, decrypts again after Copy(Overwrite): %+v", d)
		}
	}
}
