package fieldcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The subject test vector printed in docs/token-format.md.
const (
	docSubjectSecretHex = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	docSubjectRefHex    = "5c0a1f2e3d4c5b6a79881706f5e4d3c2"
	docSubjectNonceHex  = "0badc0ffee0ddf00dcafe123"
	docSubjectPlaintext = `"ada@example.com"`
)

// subjectKey is the derivation of docs/token-format.md: the AES-256-GCM
// key of a subject token, from the data key of its version and the
// subject's secret.
func subjectKey(dataKey, secret []byte, projectID string, ref []byte) []byte {
	info := []byte("qanapi-subject-key-v1\x00")
	info = binary.BigEndian.AppendUint32(info, uint32(len(projectID)))
	info = append(append(info, projectID...), ref...)
	k, err := hkdf.Key(sha256.New, dataKey, secret, string(info), 32)
	if err != nil {
		panic(err)
	}
	return k
}

// subjectKeyring is one data key at one version plus subject secrets;
// erased subjects have a nil secret.
type subjectKeyring struct {
	fixedKeyring
	key     []byte
	project string
	secrets map[string][]byte // by string(ref)
}

func (k *subjectKeyring) aead(v uint32, ref []byte) (cipher.AEAD, error) {
	secret, ok := k.secrets[string(ref)]
	switch {
	case v != k.version:
		return nil, errUnknownVersion
	case ok && secret == nil:
		return nil, ErrSubjectErased
	case !ok:
		return nil, errors.New("unknown subject")
	}
	block, _ := aes.NewCipher(subjectKey(k.key, secret, k.project, ref))
	return cipher.NewGCM(block)
}

func (k *subjectKeyring) SubjectSealKey(ref []byte, n int) (uint32, cipher.AEAD, error) {
	a, err := k.aead(k.version, ref)
	return k.version, a, err
}

func (k *subjectKeyring) SubjectOpenKey(v uint32, ref []byte) (cipher.AEAD, error) {
	return k.aead(v, ref)
}

func newSubjectKeyring(t *testing.T) *subjectKeyring {
	key := unhex(t, docKeyHex)
	return &subjectKeyring{
		fixedKeyring: fixedKeyring{docVersion, mustGCM(t, key)}, key: key, project: docProject,
		secrets: map[string][]byte{string(unhex(t, docSubjectRefHex)): unhex(t, docSubjectSecretHex),
			strings.Repeat("b", 16): bytes.Repeat([]byte{7}, 32)},
	}
}

// openSubjectOffline opens a subject token as docs/token-format.md says,
// without fieldcrypt: an independent check of the documented format.
func openSubjectOffline(dataKey, secret []byte, projectID, path, token string) ([]byte, error) {
	body, _ := strings.CutPrefix(token, "qanapi:")
	body, _ = strings.CutSuffix(body, ":$")
	parts := strings.Split(body, ":")
	if len(parts) != 3 || len(parts[1]) < 24 || parts[1][len(parts[1])-23] != 's' {
		return nil, errors.New("not a subject token")
	}
	verf, ref64 := parts[1][1:len(parts[1])-23], parts[1][len(parts[1])-22:]
	ver, bound := strings.CutSuffix(verf, "f")
	b64 := base64.RawURLEncoding.Strict()
	cls, err1 := b64.DecodeString(parts[0])
	ref, err2 := b64.DecodeString(ref64)
	version, err3 := strconv.ParseUint(ver, 10, 32)
	payload, err4 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3, err4); err != nil || len(payload) < 28 {
		return nil, errors.New("malformed token")
	}
	label := "qanapi-token-v1s\x00"
	if bound {
		label = "qanapi-token-v1fs\x00"
	}
	ad := binary.BigEndian.AppendUint32([]byte(label), uint32(len(projectID)))
	ad = append(ad, projectID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(cls)))
	ad = append(ad, cls...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(version))
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(ref)))
	ad = append(ad, ref...)
	if bound {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(path)))
		ad = append(ad, path...)
	}
	block, _ := aes.NewCipher(subjectKey(dataKey, secret, projectID, ref))
	gcm, _ := cipher.NewGCM(block)
	return gcm.Open(nil, payload[:12], payload[12:], ad)
}

// TestSubjectDocVector fails when docs/token-format.md no longer shows the
// subject token the code seals from the documented inputs.
func TestSubjectDocVector(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	p := docParams(t, docSubjectNonceHex, false)
	p.Keys, p.SubjectRef = newSubjectKeyring(t), unhex(t, docSubjectRefHex)
	tok, err := SealValue(nil, []byte(docSubjectPlaintext), p)
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := splitToken(tok)
	payload, _ := b64.AppendDecode(nil, parts.payload)
	ad := appendADSubject(appendADLabel(nil, adLabelSubject, docProject, []byte(docClass), docVersion), p.SubjectRef)
	key := subjectKey(unhex(t, docKeyHex), unhex(t, docSubjectSecretHex), docProject, p.SubjectRef)
	for _, want := range []string{string(tok), hex.EncodeToString(ad), hex.EncodeToString(payload), hex.EncodeToString(key),
		docSubjectSecretHex, docSubjectRefHex, docSubjectNonceHex} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("%s does not contain %q of the subject vector; update the test vector section", docPath, want)
		}
	}
	plain, err := openSubjectOffline(unhex(t, docKeyHex), unhex(t, docSubjectSecretHex), docProject, "", string(tok))
	if err != nil || string(plain) != docSubjectPlaintext {
		t.Errorf("openSubjectOffline(%s) = %s, %v; want %s", tok, plain, err, docSubjectPlaintext)
	}
	if _, _, err := openOffline(unhex(t, docKeyHex), docProject, "", string(tok)); err == nil {
		t.Errorf("openOffline (a parser without subjects) opened %s; want a refusal", tok)
	}
}

// TestSubjectRoundTrip seals documents for a subject, bound and unbound,
// and opens them; tampering with the reference, erasing the subject, or a
// keyring without subjects fail as documented.
func TestSubjectRoundTrip(t *testing.T) {
	for _, bind := range []bool{false, true} {
		t.Run("bind="+strconv.FormatBool(bind), func(t *testing.T) {
			kr := newSubjectKeyring(t)
			p := &Params{ProjectID: docProject, Keys: kr, BindFields: bind, SubjectRef: unhex(t, docSubjectRefHex)}
			doc := []byte(`{"a":"x","b":[1,{"c":true}]}`)
			enc, err := Encrypt(nil, doc, mustFields(t, "a,b"), p)
			if err != nil {
				t.Fatal(err)
			}
			ref64 := base64.RawURLEncoding.EncodeToString(p.SubjectRef)
			if got := bytes.Count(enc, []byte("s"+ref64+":")); got != 3 {
				t.Fatalf("Encrypt = %s: %d subject tokens, want 3", enc, got)
			}
			op := &Params{ProjectID: docProject, Keys: kr}
			if dec, err := DecryptAll(nil, enc, op); err != nil || string(dec) != string(doc) {
				t.Fatalf("DecryptAll = %s, %v; want %s", dec, err, doc)
			}
			// Another subject's reference in place of this one's.
			other := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("b", 16)))
			tampered := bytes.ReplaceAll(enc, []byte(ref64), []byte(other))
			if _, err := Decrypt(nil, tampered, mustFields(t, "a"), op); err != ErrDecryptFailed {
				t.Errorf("Decrypt(ref changed) = %v, want ErrDecryptFailed", err)
			}
			// Dropping the subject part makes it an ordinary token that fails.
			plain := bytes.ReplaceAll(enc, []byte("s"+ref64), nil)
			if _, err := Decrypt(nil, plain, mustFields(t, "a"), op); err != ErrDecryptFailed {
				t.Errorf("Decrypt(ref removed) = %v, want ErrDecryptFailed", err)
			}
			if _, err := Decrypt(nil, enc, mustFields(t, "a"), &Params{ProjectID: docProject, Keys: kr.fixedKeyring}); err != ErrDecryptFailed {
				t.Errorf("Decrypt(no SubjectKeyring) = %v, want ErrDecryptFailed", err)
			}
			kr.secrets[string(p.SubjectRef)] = nil // erased
			if _, err := Decrypt(nil, enc, mustFields(t, "a"), op); !errors.Is(err, ErrSubjectErased) {
				t.Errorf("Decrypt(erased) = %v, want ErrSubjectErased", err)
			}
			out, c, err := Reveal(nil, enc, mustFields(t, "a,b"), op, RevealOptions{})
			if err != nil || c.Erased != 3 || c.Untransformed != 3 || string(out) != string(enc) {
				t.Errorf("Reveal(erased) = %s, %+v, %v; want the tokens unchanged, 3 erased", out, c, err)
			}
			if _, err := Encrypt(nil, doc, mustFields(t, "a"), p); !errors.Is(err, ErrSubjectErased) {
				t.Errorf("Encrypt(erased) = %v, want ErrSubjectErased", err)
			}
		})
	}
}

// TestSubjectNeedsSubjectKeyring: a SubjectRef with a plain Keyring or of
// the wrong size is refused, never silently sealed without the subject.
func TestSubjectNeedsSubjectKeyring(t *testing.T) {
	kr := newSubjectKeyring(t)
	for name, p := range map[string]*Params{
		"plain keyring": {ProjectID: docProject, Keys: kr.fixedKeyring, SubjectRef: make([]byte, 16)},
		"short ref":     {ProjectID: docProject, Keys: kr, SubjectRef: make([]byte, 15)},
	} {
		if _, err := SealValue(nil, []byte("1"), p); !errors.Is(err, errNoSubjectKeyring) {
			t.Errorf("%s: SealValue = %v, want errNoSubjectKeyring", name, err)
		}
	}
}

// TestSubjectTokenSyntax: the subject part is parsed only in its place.
func TestSubjectTokenSyntax(t *testing.T) {
	ref := strings.Repeat("A", 22)
	for tok, want := range map[string]string{
		"qanapi:bm9uZQ:v1s" + ref + ":AAAA:$":     ref,
		"qanapi:bm9uZQ:v1fs" + ref + ":AAAA:$":    ref,
		"qanapi:bm9uZQ:v1:AAAA:$":                 "",
		"qanapi:bm9uZQ:v1s" + ref[1:] + ":AAAA:$": "",
		"qanapi:bm9uZQ:v1sf" + ref + ":AAAA:$":    "",
		"qanapi:bm9uZQ:vs" + ref + ":AAAA:$":      "",
	} {
		if got := TokenSubjectRef([]byte(tok)); got != want {
			t.Errorf("TokenSubjectRef(%s) = %q, want %q", tok, got, want)
		}
	}
	if IsToken([]byte("qanapi:bm9uZQ:v1s" + ref[1:] + ":AAAA:$")) {
		t.Error("IsToken(short ref) = true, want false")
	}
}

// countingSubjects counts the subject look-ups a call makes.
type countingSubjects struct {
	*subjectKeyring
	lookups int
}

func (c *countingSubjects) SubjectOpenKey(v uint32, ref []byte) (cipher.AEAD, error) {
	c.lookups++
	return c.subjectKeyring.SubjectOpenKey(v, ref)
}

// SubjectOpenKeyCached holds every known subject in memory.
func (c *countingSubjects) SubjectOpenKeyCached(v uint32, ref []byte) (cipher.AEAD, bool, error) {
	if _, ok := c.secrets[string(ref)]; !ok {
		return nil, false, nil
	}
	a, err := c.subjectKeyring.SubjectOpenKey(v, ref)
	return a, true, err
}

// TestUnknownSubjectsBoundLookups: tokens naming subjects the project
// does not have (planted in data an answer carries) cost one look-up per
// reference and call, and no more than maxSubjectMisses in all; known
// subjects after that still open from memory.
func TestUnknownSubjectsBoundLookups(t *testing.T) {
	seal := newSubjectKeyring(t)
	var same, distinct []byte
	sealFor := func(ref []byte) []byte {
		if _, ok := seal.secrets[string(ref)]; !ok {
			seal.secrets[string(ref)] = bytes.Repeat([]byte{byte(len(seal.secrets))}, 32)
		}
		p := &Params{ProjectID: docProject, Keys: seal, SubjectRef: ref}
		out, err := Encrypt(nil, []byte(`{"a":"x"}`), mustFields(t, "a"), p)
		if err != nil {
			t.Fatal(err)
		}
		return out[len(`{"a":`) : len(out)-1]
	}
	one := sealFor(bytes.Repeat([]byte{0xee}, 16))
	for i := range 100 {
		same = append(append(same, one...), ',')
		ref := bytes.Repeat([]byte{byte(i)}, 16)
		ref[0] = 0xfe
		distinct = append(append(distinct, sealFor(ref)...), ',')
	}
	known := sealFor(unhex(t, docSubjectRefHex))
	// The opener knows only the documented subject.
	open := newSubjectKeyring(t)
	for name, tc := range map[string]struct {
		tokens []byte
		max    int
	}{
		"one unknown reference 100 times": {same, 1},
		"100 unknown references":          {distinct, maxSubjectMisses},
	} {
		t.Run(name, func(t *testing.T) {
			c := &countingSubjects{subjectKeyring: open}
			doc := []byte(`{"a":[` + string(tc.tokens) + string(known) + `]}`)
			out, counts, err := Reveal(nil, doc, mustFields(t, "a"), &Params{ProjectID: docProject, Keys: c}, RevealOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.lookups > tc.max+1 { // + the known subject
				t.Errorf("subject look-ups = %d, want at most %d", c.lookups, tc.max+1)
			}
			if counts.Untransformed != 100 || !bytes.Contains(out, []byte(`"x"]}`)) {
				t.Errorf("Reveal = …%s, %+v; want the 100 unknown tokens left and the known one opened", out[max(0, len(out)-40):], counts)
			}
		})
	}
}
