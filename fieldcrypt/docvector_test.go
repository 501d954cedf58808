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

// The test vectors printed in docs/token-format.md: an unbound token sealed
// by SealValue, and a token bound to its field, sealed by Encrypt.
const (
	docPath      = "../docs/token-format.md"
	docKeyHex    = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	docNonceHex  = "cafebabefacedbaddecaf888"
	docProject   = "proj_docs"
	docClass     = "pii"
	docVersion   = 7
	docPlaintext = `{"email":"ada@example.com"}`

	docBoundNonceHex  = "feedfacedeadbeefcafef00d"
	docBoundDocument  = `{"users":[{"tax.id":"123-45-6789"}]}`
	docBoundFields    = `users.*.tax\.id`
	docBoundPath      = `users.tax\.id`
	docBoundPlaintext = `"123-45-6789"`
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

// docVector is one documented vector: what the code produces from the
// documented inputs.
type docVector struct {
	name, nonceHex, plaintext, path string
	token, ad, payload              []byte
}

// docParams returns the Params of the documented vectors, with nonce.
func docParams(t *testing.T, nonceHex string, bind bool) *Params {
	return &Params{
		ProjectID: docProject, Classification: docClass, BindFields: bind,
		Keys: fixedKeyring{docVersion, mustGCM(t, unhex(t, docKeyHex))}, Rand: bytes.NewReader(unhex(t, nonceHex)),
	}
}

// docVectors returns the two documented vectors.
func docVectors(t *testing.T) []docVector {
	unbound, err := SealValue(nil, []byte(docPlaintext), docParams(t, docNonceHex, false))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encrypt(nil, []byte(docBoundDocument), mustFields(t, docBoundFields), docParams(t, docBoundNonceHex, true))
	if err != nil {
		t.Fatal(err)
	}
	bound := []byte(strings.Trim(tokenRE.FindString(string(enc)), `"`))
	vectors := []docVector{
		{name: "unbound", nonceHex: docNonceHex, plaintext: docPlaintext, token: unbound,
			ad: appendAD(nil, docProject, []byte(docClass), docVersion)},
		{name: "bound", nonceHex: docBoundNonceHex, plaintext: docBoundPlaintext, path: docBoundPath, token: bound,
			ad: appendBoundAD(nil, docProject, []byte(docClass), docVersion, []byte(docBoundPath))},
	}
	for i, v := range vectors {
		parts, _ := splitToken(v.token)
		vectors[i].payload, _ = b64.AppendDecode(nil, parts.payload)
	}
	return vectors
}

// TestDocVector fails when docs/token-format.md no longer shows the tokens
// (or the associated data, or the payloads) that the code produces for the
// documented inputs, or when openOffline does not open them.
func TestDocVector(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{docKeyHex, docProject, docClass, "v" + strconv.Itoa(docVersion),
		docBoundDocument, docBoundFields, docBoundPath} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("%s does not contain %q; update the test vector section", docPath, want)
		}
	}
	for _, v := range docVectors(t) {
		for _, want := range []string{string(v.token), hex.EncodeToString(v.ad), hex.EncodeToString(v.payload),
			v.nonceHex, v.plaintext} {
			if !bytes.Contains(doc, []byte(want)) {
				t.Errorf("%s does not contain %q of the %s vector; update the test vector section", docPath, want, v.name)
			}
		}
		plain, cls, err := openOffline(unhex(t, docKeyHex), docProject, v.path, string(v.token))
		if err != nil || string(plain) != v.plaintext || cls != docClass {
			t.Errorf("openOffline(%s) = %s, %q, %v; want %s, %q", v.token, plain, cls, err, v.plaintext, docClass)
		}
		if v.path == "" {
			continue
		}
		for _, other := range []string{"", "users.tax.id", `users.tax\.id.x`} { // as the doc says
			if _, _, err := openOffline(unhex(t, docKeyHex), docProject, other, string(v.token)); err == nil {
				t.Errorf("openOffline(%s) at path %q = nil, want an error", v.token, other)
			}
		}
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
// path is the bound path where the token was found; it is used only if the
// token is bound (v<N>f). It returns the plaintext (the field's raw JSON)
// and the classification.
func openOffline(key []byte, projectID, path, token string) ([]byte, string, error) {
	body, ok := strings.CutPrefix(token, "qanapi:")
	body, ok2 := strings.CutSuffix(body, ":$")
	parts := strings.Split(body, ":")
	if !ok || !ok2 || len(parts) != 3 || !strings.HasPrefix(parts[1], "v") {
		return nil, "", errors.New("not a token")
	}
	ver, bound := strings.CutSuffix(parts[1][1:], "f")
	b64 := base64.RawURLEncoding.Strict()
	cls, err1 := b64.DecodeString(parts[0])
	version, err2 := strconv.ParseUint(ver, 10, 32)
	payload, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil || len(payload) < 12+16 {
		return nil, "", errors.New("malformed token")
	}
	ad := []byte("qanapi-token-v1\x00")
	if bound {
		ad = []byte("qanapi-token-v1f\x00")
	}
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(projectID)))
	ad = append(ad, projectID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(cls)))
	ad = append(ad, cls...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(version))
	if bound {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(path)))
		ad = append(ad, path...)
	}
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
