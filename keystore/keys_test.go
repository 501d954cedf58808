package keystore

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

func TestConcurrentCreatesNeverExceedCap(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "cap")
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateKey(p.ID, KeyInput{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrKeyLimit):
				limited++
			default:
				t.Errorf("CreateKey = %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 10 || limited != 40 {
		t.Errorf("50 concurrent CreateKey: %d created, %d limited, want 10 and 40", created, limited)
	}
	keys, err := s.Keys(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 10 {
		t.Errorf("Keys() = %d keys, want 10", len(keys))
	}
}

func TestRevokeFreesSlotAndStopsAuth(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "revoke")
	var keys []NewKey
	for i := 0; i < 10; i++ {
		keys = append(keys, mustKey(t, s, p.ID, KeyInput{}))
	}
	if _, err := s.CreateKey(p.ID, KeyInput{}); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("11th CreateKey = %v, want ErrKeyLimit", err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(keys[0].Secret)); err != nil {
		t.Fatalf("Authenticate before revoke = %v", err)
	}
	k, err := s.RevokeKey(p.ID, keys[0].ID)
	if err != nil || k.RevokedAt == nil || k.Status(time.Now()) != StatusRevoked {
		t.Fatalf("RevokeKey = %+v, %v, want revoked", k, err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(keys[0].Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate after revoke = %v, want ErrUnauthorized", err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(keys[1].Secret)); err != nil {
		t.Errorf("Authenticate(other key) after revoke = %v, want ok", err)
	}
	mustKey(t, s, p.ID, KeyInput{}) // the slot is free again
}

func TestExpiryWithInjectedClock(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "expiry")
	exp := c.Now().Add(time.Hour)
	k := mustKey(t, s, p.ID, KeyInput{ExpiresAt: &exp})
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
		t.Fatalf("Authenticate before expiry = %v", err)
	}
	c.Advance(time.Hour)
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate at expiry = %v, want ErrUnauthorized", err)
	}
	got, _ := s.GetKey(p.ID, k.ID)
	if st := got.Status(c.Now()); st != StatusExpired {
		t.Errorf("Status() = %s, want expired", st)
	}
	past := c.Now().Add(-time.Second)
	if _, err := s.CreateKey(p.ID, KeyInput{ExpiresAt: &past}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateKey(expires in the past) = %v, want ErrInvalid", err)
	}
}

func TestRotateKeepsOldKeyForGrace(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	max := 1
	name := "rotate"
	p, err := s.CreateProject(ProjectInput{Name: &name, MaxActiveKeys: &max})
	if err != nil {
		t.Fatal(err)
	}
	old := mustKey(t, s, p.ID, KeyInput{Name: "svc", Permissions: []string{"encrypt"}})
	fresh, oldRec, err := s.RotateKey(p.ID, old.ID, time.Hour)
	if err != nil {
		t.Fatalf("RotateKey at cap = %v, want ok", err)
	}
	if fresh.Name != "svc" || len(fresh.Permissions) != 1 || fresh.Permissions[0] != "encrypt" {
		t.Errorf("RotateKey new key = %+v, want same name and permissions", fresh.Key)
	}
	if oldRec.ExpiresAt == nil || !oldRec.ExpiresAt.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("RotateKey old expires_at = %v, want now+1h", oldRec.ExpiresAt)
	}
	for _, k := range []NewKey{old, fresh} {
		if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
			t.Errorf("Authenticate(%s) during grace = %v", k.ID, err)
		}
	}
	c.Advance(time.Hour)
	if _, err := s.Authenticate([]byte(p.ID), []byte(old.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate(old) after grace = %v, want ErrUnauthorized", err)
	}
	if _, _, err := s.RotateKey(p.ID, old.ID, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("RotateKey(expired key) = %v, want ErrInvalid", err)
	}
}

func TestRestartPersistsAndLastUsedFlushes(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "persist")
	k := mustKey(t, s, p.ID, KeyInput{Name: "a"})
	c.Advance(time.Minute)
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
		t.Fatal(err)
	}
	usedAt := c.Now()
	if got, _ := s.GetKey(p.ID, k.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(usedAt) {
		t.Errorf("GetKey().LastUsedAt in memory = %v, want %v", got.LastUsedAt, usedAt)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, c)
	got, err := s2.GetKey(p.ID, k.ID)
	if err != nil {
		t.Fatalf("GetKey after restart = %v", err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(usedAt) {
		t.Errorf("LastUsedAt after restart = %v, want %v (flushed on close)", got.LastUsedAt, usedAt)
	}
	if _, err := s2.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
		t.Errorf("Authenticate after restart = %v", err)
	}
	if _, err := s2.Project(p.ID); err != nil {
		t.Errorf("Project after restart = %v", err)
	}
}

func TestSecretNeverInDatabaseFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MasterKey: testMaster})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "secret")
	var secrets []string
	for i := 0; i < 5; i++ {
		secrets = append(secrets, mustKey(t, s, p.ID, KeyInput{}).Secret)
	}
	s.Authenticate([]byte(p.ID), []byte(secrets[0]))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		secretPart := sec[keyIDLen+1:]
		for _, needle := range []string{sec, secretPart, secretPart[:16]} {
			if bytes.Contains(data, []byte(needle)) {
				t.Errorf("database file contains %q of a key's secret", needle)
			}
		}
	}
	if bytes.Contains(data, testMaster) {
		t.Errorf("database file contains the master key")
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	openTestStore(t, dir, newClock())
	start := time.Now()
	_, err := Open(dir, Options{MasterKey: testMaster, LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v, want well under 5s", d)
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MasterKey: testMaster})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	other := bytes.Repeat([]byte{8}, 32)
	if _, err := Open(dir, Options{MasterKey: other}); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("Open(wrong master key) = %v, want ErrWrongMasterKey", err)
	}
	if _, err := Open(dir, Options{MasterKey: other[:31]}); !errors.Is(err, ErrBadMasterKey) {
		t.Errorf("Open(31-byte master key) = %v, want ErrBadMasterKey", err)
	}
}

func TestDeleteProjectStopsItsKeys(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "gone")
	k := mustKey(t, s, p.ID, KeyInput{})
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Authenticate after DeleteProject = %v, want ErrUnauthorized", err)
	}
	if _, err := s.GetKey(p.ID, k.ID); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("GetKey after DeleteProject = %v, want ErrKeyNotFound", err)
	}
	if err := s.DeleteProject(p.ID); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("DeleteProject twice = %v, want ErrProjectNotFound", err)
	}
}

func TestTakeExpiredReportsEachExpiryOnce(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "exp")
	in1, in2 := c.Now().Add(time.Minute), c.Now().Add(time.Hour)
	k1 := mustKey(t, s, p.ID, KeyInput{ExpiresAt: &in1})
	mustKey(t, s, p.ID, KeyInput{ExpiresAt: &in2})
	if got, _ := s.TakeExpired(); len(got) != 0 {
		t.Fatalf("TakeExpired before any expiry = %d keys, want 0", len(got))
	}
	c.Advance(2 * time.Minute)
	if got, _ := s.TakeExpired(); len(got) != 1 || got[0].ID != k1.ID {
		t.Fatalf("TakeExpired after 2m = %v, want [%s]", got, k1.ID)
	}
	if got, _ := s.TakeExpired(); len(got) != 0 {
		t.Errorf("TakeExpired again = %d keys, want 0 (reported once)", len(got))
	}
	s.Close()
	c.Advance(2 * time.Hour)
	s = openTestStore(t, dir, c)
	if got, _ := s.TakeExpired(); len(got) != 1 {
		t.Errorf("TakeExpired after a restart = %d keys, want the one that expired while stopped", len(got))
	}
}
