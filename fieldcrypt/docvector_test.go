package fieldcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The test vector printed in docs/token-format.md.
const (
	docPath      = "../docs/token-format.md"
	docKeyHex    = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	docNonceHex  = "cafebabefacedbaddecaf888"
	docProject   = "proj_docs"
	docClass     = "pii"
	docVersion   = 7
	docPlaintext = `{"email":"ada@example.com"}`
)

// fixedKeyring seals and opens with one key at one version.
type fixedKeyring struct {
	version uint32
	aead    cipher.AEAD
}

func (k fixedKeyring) SealKey(int) (uint32, cipher.AEAD, error) { return k.version, k.aead, nil }

func (k fixedKeyring) OpenKey(v uint32) (cipher.AEAD, error) {
	if v != k.version {
		return nil, errUnknownVersion
	}
	return k.aead, nil
}

// docVector returns the token and associated data of the documented vector.
func docVector(t *testing.T) (token, ad []byte) {
	key, nonce := unhex(t, docKeyHex), unhex(t, docNonceHex)
	p := &Params{
		ProjectID: docProject, Classification: docClass,
		Keys: fixedKeyring{docVersion, mustGCM(t, key)}, Rand: bytes.NewReader(nonce),
	}
	token, err := SealValue(nil, []byte(docPlaintext), p)
	if err != nil {
		t.Fatal(err)
	}
	return token, appendAD(nil, docProject, []byte(docClass), docVersion)
}

// TestDocVector fails when docs/token-format.md no longer shows the token
// (or the associated data) that the code produces for the documented inputs.
func TestDocVector(t *testing.T) {
	token, ad := docVector(t)
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{string(token), hex.EncodeToString(ad), docKeyHex, docNonceHex,
		docProject, docClass, "v" + strconv.Itoa(docVersion), docPlaintext} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("%s does not contain %q; update the test vector section", docPath, want)
		}
	}
	plain, cls, err := openOffline(unhex(t, docKeyHex), docProject, string(token))
	if err != nil || string(plain) != docPlaintext || cls != docClass {
		t.Errorf("openOffline(%s) = %s, %q, %v; want %s, %q", token, plain, cls, err, docPlaintext, docClass)
	}
}

// TestDocSnippet fails when the Go snippet of docs/token-format.md differs
// from openOffline below, which TestDocVector runs.
func TestDocSnippet(t *testing.T) {
	src, err := os.ReadFile("docvector_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte("\n// openOffline opens"))
	end := bytes.Index(src, []byte("\n// END snippet"))
	doc, err := os.ReadFile(docPath)
	if err != nil || start < 0 || end < start {
		t.Fatalf("snippet markers or doc missing: %v", err)
	}
	if snippet := bytes.TrimSpace(src[start:end]); !bytes.Contains(doc, snippet) {
		t.Errorf("%s does not contain the snippet of docvector_test.go:\n%s", docPath, snippet)
	}
}

// openOffline opens a token with the raw 32-byte data key of its version.
// It returns the plaintext (the field's raw JSON) and the classification.
func openOffline(key []byte, projectID, token string) ([]byte, string, error) {
	body, ok := strings.CutPrefix(token, "qanapi:")
	body, ok2 := strings.CutSuffix(body, ":$")
	parts := strings.Split(body, ":")
	if !ok || !ok2 || len(parts) != 3 || !strings.HasPrefix(parts[1], "v") {
		return nil, "", errors.New("not a token")
	}
	b64 := base64.RawURLEncoding.Strict()
	cls, err1 := b64.DecodeString(parts[0])
	version, err2 := strconv.ParseUint(parts[1][1:], 10, 32)
	payload, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil || len(payload) < 12+16 {
		return nil, "", errors.New("malformed token")
	}
	ad := []byte("qanapi-token-v1\x00")
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(projectID)))
	ad = append(ad, projectID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(cls)))
	ad = append(ad, cls...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(version))
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, "", err
	}
	plaintext, err := gcm.Open(nil, payload[:12], payload[12:], ad)
	return plaintext, string(cls), err
}

// END snippet
