package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

// testKeyring is a Keyring with fixed keys: version v has the key whose
// bytes are all v (so keys differ per version and are reproducible).
type testKeyring struct {
	mu      sync.Mutex
	current uint32
	aeads   map[uint32]cipher.AEAD
	calls   int // SealKey calls
	sealed  int // values counted
}

var errUnknownVersion = errors.New("test keyring: unknown version")

// newTestKeyring returns a keyring holding versions 1..current, sealing with current.
func newTestKeyring(t testing.TB, current uint32) *testKeyring {
	t.Helper()
	k := &testKeyring{current: current, aeads: map[uint32]cipher.AEAD{}}
	for v := uint32(1); v <= current; v++ {
		key := make([]byte, 32)
		for i := range key {
			key[i] = byte(v)
		}
		k.aeads[v] = mustGCM(t, key)
	}
	return k
}

func mustGCM(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func (k *testKeyring) SealKey(n int) (uint32, cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	k.sealed += n
	return k.current, k.aeads[k.current], nil
}

func (k *testKeyring) OpenKey(v uint32) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.aeads[v]; ok {
		return a, nil
	}
	return nil, errUnknownVersion
}

// detRand is a deterministic nonce source for tests (never for production).
func detRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// testParams returns Params with a fresh keyring and deterministic nonces.
func testParams(t testing.TB) *Params {
	return &Params{ProjectID: "proj_1", Keys: newTestKeyring(t, 1), Rand: detRand(1)}
}

// mustFields parses a field list or fails the test.
func mustFields(t testing.TB, s string) Fields {
	t.Helper()
	f, err := ParseFields(s)
	if err != nil {
		t.Fatalf("ParseFields(%q) = %v", s, err)
	}
	return f
}
