package keystore

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDecryptMaskedPermission(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "masked")
	cases := []struct {
		perms                  []string
		want                   []string
		encrypt, decrypt, mask bool
	}{
		{nil, []string{"decrypt", "encrypt"}, true, true, false},
		{[]string{"decrypt_masked"}, []string{"decrypt_masked"}, false, false, true},
		{[]string{"Decrypt_Masked", "encrypt"}, []string{"decrypt_masked", "encrypt"}, true, false, true},
		{[]string{"encrypt", "decrypt_masked", "decrypt"}, []string{"decrypt", "decrypt_masked", "encrypt"}, true, true, true},
	}
	for _, tc := range cases {
		k := mustKey(t, s, p.ID, KeyInput{Permissions: tc.perms})
		if !slices.Equal(k.Permissions, tc.want) {
			t.Errorf("CreateKey(permissions %q) permissions = %q, want %q", tc.perms, k.Permissions, tc.want)
		}
		pr, err := s.Authenticate([]byte(p.ID), []byte(k.Secret))
		if err != nil {
			t.Fatalf("Authenticate = %v", err)
		}
		if pr.CanEncrypt != tc.encrypt || pr.CanDecrypt != tc.decrypt || pr.CanDecryptMasked != tc.mask {
			t.Errorf("principal of a key with %q = encrypt %t decrypt %t masked %t, want %t %t %t",
				tc.perms, pr.CanEncrypt, pr.CanDecrypt, pr.CanDecryptMasked, tc.encrypt, tc.decrypt, tc.mask)
		}
	}
	_, err := s.CreateKey(p.ID, KeyInput{Permissions: []string{"masked"}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "permissions" || !strings.Contains(fe.Msg, "decrypt_masked") {
		t.Errorf("CreateKey(permissions [masked]) = %v, want a FieldError on permissions naming decrypt_masked", err)
	}
	if err := s.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cacheDiff(s) {
		t.Error(d)
	}
}
