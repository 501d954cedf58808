package keystore

import (
	"bytes"
	"testing"
)

// TestIndexKey: one key per project and field, the same after a data-key
// rotation, a minimum decryption version past version 1 and a restart.
func TestIndexKey(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			space := b.space(t)
			s := b.open(t, space, newClock())
			p, q := mustProject(t, s, "a"), mustProject(t, s, "b")
			kp, _ := s.Keyring(p.ID)
			kq, _ := s.Keyring(q.ID)
			email := mustIndexKey(t, kp, "email") // creates version 1
			if got := mustIndexKey(t, kp, "email"); !bytes.Equal(got, email) {
				t.Errorf("IndexKey(email) twice differs")
			}
			for name, other := range map[string][]byte{
				"other field":   mustIndexKey(t, kp, "user.email"),
				"other project": mustIndexKey(t, kq, "email"),
			} {
				if bytes.Equal(other, email) || len(other) != 32 {
					t.Errorf("IndexKey(%s) = the same key as email's, or not 32 bytes", name)
				}
			}
			if _, err := s.RotateDataKey(p.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetMinDecryptionVersion(p.ID, 2); err != nil {
				t.Fatal(err)
			}
			if got := mustIndexKey(t, kp, "email"); !bytes.Equal(got, email) {
				t.Errorf("IndexKey(email) changed with the data key's rotation")
			}
			s.Close()
			s = b.open(t, space, newClock())
			kp, _ = s.Keyring(p.ID)
			if got := mustIndexKey(t, kp, "email"); !bytes.Equal(got, email) {
				t.Errorf("IndexKey(email) changed across a restart")
			}
		})
	}
}

func mustIndexKey(t *testing.T, k *Keyring, field string) []byte {
	t.Helper()
	key, err := k.IndexKey(field)
	if err != nil {
		t.Fatalf("IndexKey(%s) = %v", field, err)
	}
	return key
}
