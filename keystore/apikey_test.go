package keystore

import (
	"crypto/rand"
	"regexp"
	"testing"
)

var keyShape = regexp.MustCompile(`^qk_[0-9a-z]{12}_[0-9A-Za-z]{38}$`)

func TestNewAPIKeyShape(t *testing.T) {
	for i := 0; i < 200; i++ {
		id, key, err := newAPIKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !keyShape.MatchString(key) {
			t.Fatalf("newAPIKey() = %q, want shape %s", key, keyShape)
		}
		if key[:len(id)] != id || key[len(id)] != '_' {
			t.Fatalf("newAPIKey() id %q is not the key up to its last underscore (%q)", id, key)
		}
		got, ok := parseAPIKey([]byte(key))
		if !ok || string(got) != id {
			t.Fatalf("parseAPIKey(%q) = %q, %v, want %q, true", key, got, ok, id)
		}
	}
}

func TestParseAPIKeyRefusesEverySingleChange(t *testing.T) {
	_, key, err := newAPIKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := range key {
		for _, c := range []byte("0aZ_-") {
			if key[i] == c {
				continue
			}
			b := []byte(key)
			b[i] = c
			if _, ok := parseAPIKey(b); ok {
				t.Errorf("parseAPIKey(key with byte %d = %q) = ok, want refused", i, c)
			}
		}
	}
	for n := 0; n < len(key); n++ {
		if _, ok := parseAPIKey([]byte(key[:n])); ok {
			t.Errorf("parseAPIKey(key[:%d]) = ok, want refused", n)
		}
	}
	if _, ok := parseAPIKey([]byte(key + "0")); ok {
		t.Errorf("parseAPIKey(key+\"0\") = ok, want refused")
	}
}
