package main

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestE2EStoreCopy: `sdproxy store copy` moves a bbolt store into etcd
// and back into a fresh bbolt directory; after each move the key
// authenticates and a token sealed before the first opens; a second run
// copies nothing; a project new at the source goes over only with
// --merge; a directory held by a running serve, and a wrong master key,
// are refused.
func TestE2EStoreCopy(t *testing.T) {
	master := e2e.NewMasterKey(t)
	raw, _ := base64.StdEncoding.DecodeString(master)
	dir := t.TempDir()
	project, secret, token := seedBolt(t, dir, raw)
	etcd := etcdtest.Start(t)
	to := "etcd:" + strings.Join(etcd.Endpoints(), ",") + "?prefix=/moved/"
	env := map[string]string{config.EnvMasterKey: master}

	out := cli(t, env, "store", "copy", "--from", "bbolt:"+dir, "--to", to)
	for _, want := range []string{"projects         1", "keys             2", "datakeys         2", "routes           1", "classifications  1", ": 9 copied, 0 unchanged, 0 conflicts"} {
		if !strings.Contains(out, want) {
			t.Errorf("store copy bbolt → etcd printed\n%s\nwant a line with %q", out, want)
		}
	}
	if out := cli(t, env, "store", "copy", "--from", "bbolt:"+dir, "--to", to); !strings.Contains(out, ": 0 copied, 9 unchanged") {
		t.Errorf("store copy bbolt → etcd again printed\n%s\nwant 0 copied", out)
	}
	// A project made at the source after the copy: absent at a
	// destination that holds projects, so copied only with --merge (it
	// could as well have been deleted there).
	src, err := keystore.Open(dir, keystore.Options{MasterKey: raw})
	if err != nil {
		t.Fatal(err)
	}
	later := "later"
	if _, err := src.CreateProject(keystore.ProjectInput{Name: &later}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	_, stderr, code := e2e.Run(t, 30*time.Second, env, "store", "copy", "--from", "bbolt:"+dir, "--to", to)
	if code != 1 || !strings.Contains(stderr, "--merge copies those absent there") {
		t.Errorf("store copy with a project absent at a destination holding projects = exit %d, stderr %q; want 1, pointing to --merge", code, stderr)
	}
	if out := cli(t, env, "store", "copy", "--from", "bbolt:"+dir, "--to", to, "--merge"); !strings.Contains(out, ": 1 copied, 9 unchanged, 0 conflicts") {
		t.Errorf("store copy --merge printed\n%s\nwant the new project copied", out)
	}

	s, err := keystore.OpenEtcd(keystore.EtcdOptions{Endpoints: etcd.Endpoints(), Prefix: "/moved/"}, keystore.Options{MasterKey: raw})
	if err != nil {
		t.Fatalf("OpenEtcd = %v", err)
	}
	checkCopied(t, s, project, secret, token)
	s.Close()

	back := t.TempDir()
	cli(t, env, "store", "copy", "--from", to, "--to", "bbolt:"+back)
	if out := cli(t, env, "store", "copy", "--from", to, "--to", "bbolt:"+back, "-o", "json"); !strings.Contains(out, `"copied": 0,`) {
		t.Errorf("store copy etcd → bbolt again printed\n%s\nwant \"copied\": 0", out)
	}
	b, err := keystore.Open(back, keystore.Options{MasterKey: raw})
	if err != nil {
		t.Fatalf("Open(copied back) = %v", err)
	}
	checkCopied(t, b, project, secret, token)
	b.Close()

	serveEnv := serveEnv(t, dir, master)
	e2e.Start(t, serveEnv)
	_, stderr, code = e2e.Run(t, 30*time.Second, env, "store", "copy", "--from", "bbolt:"+dir, "--to", to)
	if code != 1 || !strings.Contains(stderr, "in use by another process (a running sdproxy serve?)") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("store copy from a served directory = exit %d, stderr %q, want 1 and one line saying it is in use", code, stderr)
	}
	other := map[string]string{config.EnvMasterKey: e2e.NewMasterKey(t)}
	_, stderr, code = e2e.Run(t, 30*time.Second, other, "store", "copy", "--from", "bbolt:"+back, "--to", to)
	if code != 1 || !strings.Contains(stderr, "the master key does not match") {
		t.Errorf("store copy with another master key = exit %d, stderr %q, want 1 and a mismatch", code, stderr)
	}
}

// seedBolt makes a bbolt store in dir holding a project with two keys, a
// classification, a route and a data key that has sealed one value.
func seedBolt(t *testing.T, dir string, master []byte) (project, secret, token string) {
	t.Helper()
	s, err := keystore.Open(dir, keystore.Options{MasterKey: master})
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer s.Close()
	name := "moving"
	p, err := s.CreateProject(keystore.ProjectInput{Name: &name})
	if err != nil {
		t.Fatalf("CreateProject = %v", err)
	}
	if _, err := s.CreateClassification(p.ID, keystore.ClassificationInput{Slug: "pii"}); err != nil {
		t.Fatalf("CreateClassification = %v", err)
	}
	if _, err := s.CreateRoute(p.ID, keystore.RouteInput{Path: "/users/**", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"email"}, Classification: "pii"}}); err != nil {
		t.Fatalf("CreateRoute = %v", err)
	}
	k, err := s.CreateKey(p.ID, keystore.KeyInput{Name: "app"})
	if err != nil {
		t.Fatalf("CreateKey = %v", err)
	}
	if _, err := s.CreateKey(p.ID, keystore.KeyInput{Name: "other"}); err != nil {
		t.Fatalf("CreateKey = %v", err)
	}
	ring, err := s.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fieldcrypt.SealValue(nil, []byte(`"alice@example.com"`), &fieldcrypt.Params{ProjectID: p.ID, Classification: "pii", Keys: ring})
	if err != nil {
		t.Fatalf("SealValue = %v", err)
	}
	return p.ID, k.Secret, string(tok)
}

func checkCopied(t *testing.T, s *keystore.Store, project, secret, token string) {
	t.Helper()
	if _, err := s.Authenticate([]byte(project), []byte(secret)); err != nil {
		t.Errorf("Authenticate after the copy = %v", err)
	}
	ring, err := s.Keyring(project)
	if err != nil {
		t.Fatalf("Keyring after the copy = %v", err)
	}
	plain, _, err := fieldcrypt.OpenToken(nil, []byte(token), &fieldcrypt.Params{ProjectID: project, Keys: ring})
	if err != nil || string(plain) != `"alice@example.com"` {
		t.Errorf("OpenToken after the copy = %q, %v, want the sealed value", plain, err)
	}
}
