package keystore

import (
	"errors"
	"sync"
	"testing"
)

func openRotating(t *testing.T, dir string, after uint64) *Store {
	t.Helper()
	s, err := Open(dir, Options{MasterKey: testMaster, DataKeyRotateAfter: after})
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	return s
}

func TestSealKeyRotatesAtThreshold(t *testing.T) {
	s := openRotating(t, t.TempDir(), 10)
	defer s.Close()
	p := mustProject(t, s, "dk")
	k, err := s.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var versions []uint32
	for i := 0; i < 25; i++ {
		v, aead, err := k.SealKey(1)
		if err != nil || aead == nil {
			t.Fatalf("SealKey(1) #%d = %v", i, err)
		}
		versions = append(versions, v)
	}
	for i, v := range versions {
		if want := uint32(i/10 + 1); v != want {
			t.Fatalf("SealKey #%d version = %d, want %d (10 seals per version)", i, v, want)
		}
	}
	if _, _, err := k.SealKey(11); !errors.Is(err, ErrInvalid) {
		t.Errorf("SealKey(11) with a limit of 10 = %v, want ErrInvalid", err)
	}
	for v := uint32(1); v <= 3; v++ {
		if _, err := k.OpenKey(v); err != nil {
			t.Errorf("OpenKey(%d) = %v, want ok", v, err)
		}
	}
	if _, err := k.OpenKey(4); err == nil {
		t.Errorf("OpenKey(4) = ok, want error for an unknown version")
	}
}

func TestSealKeyConcurrentNeverExceedsLimit(t *testing.T) {
	const limit = 100
	s := openRotating(t, t.TempDir(), limit)
	defer s.Close()
	p := mustProject(t, s, "dk")
	k, _ := s.Keyring(p.ID)
	var mu sync.Mutex
	counts := map[uint32]int{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 130; i++ {
				v, _, err := k.SealKey(3)
				if err != nil {
					t.Errorf("SealKey = %v", err)
					return
				}
				mu.Lock()
				counts[v] += 3
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := 0
	for v, n := range counts {
		total += n
		if n > limit {
			t.Errorf("version %d sealed %d values, limit %d", v, n, limit)
		}
	}
	if total != 8*130*3 {
		t.Errorf("sealed %d values, want %d", total, 8*130*3)
	}
}

func TestDataKeysSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := openRotating(t, dir, 0)
	p := mustProject(t, s, "dk")
	k, _ := s.Keyring(p.ID)
	v1, aead1, err := k.SealKey(5)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	sealed := aead1.Seal(nil, nonce, []byte("secret"), nil)
	info, err := s.RotateDataKey(p.ID)
	if err != nil || info.Version != 2 || info.Status != "current" {
		t.Fatalf("RotateDataKey = %+v, %v, want version 2 current", info, err)
	}
	s.Close()

	s = openRotating(t, dir, 0)
	defer s.Close()
	k, _ = s.Keyring(p.ID)
	aead, err := k.OpenKey(v1)
	if err != nil {
		t.Fatalf("OpenKey(%d) after restart = %v", v1, err)
	}
	if got, err := aead.Open(nil, nonce, sealed, nil); err != nil || string(got) != "secret" {
		t.Errorf("Open after restart = %q, %v, want secret", got, err)
	}
	if v, _, _ := k.SealKey(1); v != 2 {
		t.Errorf("SealKey after restart version = %d, want 2", v)
	}
	list, _ := s.DataKeys(p.ID)
	if len(list) != 2 || list[0].Status != "active" || list[1].Status != "current" {
		t.Errorf("DataKeys = %+v, want v1 active, v2 current", list)
	}
	if list[0].Seals < 5 {
		t.Errorf("DataKeys v1 seals = %d, want at least the 5 sealed (reserved counts as used)", list[0].Seals)
	}
	if _, err := s.SetMinDecryptionVersion(p.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := k.OpenKey(1); err == nil {
		t.Errorf("OpenKey(1) below the minimum = ok, want error")
	}
	if _, err := s.SetMinDecryptionVersion(p.ID, 3); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetMinDecryptionVersion(3) > current = %v, want ErrInvalid", err)
	}
}

func TestKeyringUnknownProject(t *testing.T) {
	s := openTestStore(t, "", newClock())
	if _, err := s.Keyring("prj_nope"); !errors.Is(err, ErrProjectNotFound) {
		t.Errorf("Keyring(unknown) = %v, want ErrProjectNotFound", err)
	}
}

func BenchmarkSealKey(b *testing.B) {
	s := openTestStore(b, "", newClock())
	p := mustProject(b, s, "bench")
	k, _ := s.Keyring(p.ID)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.SealKey(2); err != nil {
			b.Fatal(err)
		}
	}
}
