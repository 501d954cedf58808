package keystore

import (
	"errors"
	"strings"
	"testing"
)

func TestAuthenticateFailures(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "a")
	q := mustProject(t, s, "b")
	mustClass(t, s, p.ID, "pii")
	k := mustKey(t, s, p.ID, KeyInput{Permissions: []string{"decrypt"}, Classifications: []string{"pii"}})
	flip := []byte(k.Secret)
	flip[20] ^= 1
	wrongSecret := k.ID + "_" + strings.Repeat("A", 38) // right id, right shape, wrong secret
	cases := []struct{ name, project, key string }{
		{"empty", p.ID, ""},
		{"malformed", p.ID, "not-a-key"},
		{"flipped byte", p.ID, string(flip)},
		{"wrong secret", p.ID, wrongSecret},
		{"other project", q.ID, k.Secret},
		{"unknown project", "prj_nope", k.Secret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Authenticate([]byte(tc.project), []byte(tc.key)); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("Authenticate(%s) = %v, want ErrUnauthorized", tc.name, err)
			}
		})
	}
	pr, err := s.Authenticate([]byte(p.ID), []byte(k.Secret))
	if err != nil {
		t.Fatalf("Authenticate(valid) = %v", err)
	}
	if pr.KeyID != k.ID || pr.ProjectID != p.ID || pr.CanEncrypt || !pr.CanDecrypt || len(pr.Classifications) != 1 {
		t.Errorf("Authenticate(valid) = %+v, want decrypt-only key %s limited to pii", pr, k.ID)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	s := openTestStore(b, "", newClock())
	p := mustProject(b, s, "bench")
	k := mustKey(b, s, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Authenticate(project, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("valid-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Authenticate(project, key)
			}
		})
	})
	bad := []byte(k.ID + "_" + strings.Repeat("A", 38))
	b.Run("wrong-secret", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Authenticate(project, bad)
		}
	})
}
