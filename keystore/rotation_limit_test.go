package keystore

import (
	"errors"
	"testing"
	"time"
)

// TestFarFutureExpiry: an expiry past 2262 (UnixNano's end), such as
// 9999-12-31 for "never", or a long grace, keeps the key working.
func TestFarFutureExpiry(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	p := mustProject(t, s, "far")
	exp := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	k := mustKey(t, s, p.ID, KeyInput{ExpiresAt: &exp})
	if _, err := s.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
		t.Errorf("Authenticate(a key expiring 9999-12-31) = %v, want nil", err)
	}
	if got, want := expiryNanos(exp), int64(1<<63-1); got != want {
		t.Errorf("expiryNanos(9999-12-31) = %d, want %d", got, want)
	}
	if got := expiryNanos(time.Unix(0, 0)); got != 1 {
		t.Errorf("expiryNanos(1970-01-01) = %d, want 1 (expired, not none)", got)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := expiryNanos(at); got != at.UnixNano() {
		t.Errorf("expiryNanos(2030) = %d, want %d", got, at.UnixNano())
	}
}

// TestRotationCannotMultiplyKeys: rotating the new key again and again
// stops once the project holds as many rotated keys in their grace as
// its cap, and a grace longer than 30 days is refused.
func TestRotationCannotMultiplyKeys(t *testing.T) {
	c := newClock()
	s := openTestStore(t, "", c)
	name, capN := "cap", 2
	p, err := s.CreateProject(ProjectInput{Name: &name, MaxActiveKeys: &capN})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{mustKey(t, s, p.ID, KeyInput{}).Secret, mustKey(t, s, p.ID, KeyInput{}).Secret}
	if _, err := s.CreateKey(p.ID, KeyInput{}); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("CreateKey over the cap = %v, want ErrKeyLimit", err)
	}
	keys, _ := s.Keys(p.ID)
	if _, _, err := s.RotateKey(p.ID, keys[0].ID, MaxGracePeriod+time.Second); err == nil {
		t.Error("RotateKey with a grace of 30 days and a second: nil error, want grace_period refused")
	}
	cur, refused := keys[0].ID, 0
	for range 10 {
		nk, _, err := s.RotateKey(p.ID, cur, 7*24*time.Hour)
		if errors.Is(err, ErrGraceLimit) {
			refused++
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, nk.Secret)
		cur = nk.ID
	}
	if refused == 0 {
		t.Error("ten chained rotations all allowed, want ErrGraceLimit once the cap's worth are in grace")
	}
	working := 0
	for _, sec := range secrets {
		if _, err := s.Authenticate([]byte(p.ID), []byte(sec)); err == nil {
			working++
		}
	}
	if working > 2*capN {
		t.Errorf("max_active_keys=%d: %d keys work, want at most %d", capN, working, 2*capN)
	}
	// A rotation that ends the old key at once adds no working key.
	nk, _, err := s.RotateKey(p.ID, cur, 0)
	if err != nil {
		t.Errorf("RotateKey with no grace at the grace cap = %v, want nil", err)
	} else {
		cur = nk.ID
	}
	// Once the grace ends, rotating works again.
	c.Advance(7*24*time.Hour + time.Second)
	if _, _, err := s.RotateKey(p.ID, cur, time.Hour); err != nil {
		t.Errorf("RotateKey after the graces ended = %v, want nil", err)
	}
}
