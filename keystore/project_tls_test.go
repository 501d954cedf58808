package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/testpki"
)

func strp(s string) *string { return &s }

func keyp(s string) *PrivateKeyPEM { k := PrivateKeyPEM(s); return &k }

func TestUpstreamTLSValidation(t *testing.T) {
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "client", "client.test")
	other := ca.Issue(t, "other", "other.test")
	cases := []struct {
		name  string
		in    ProjectInput
		field string // "" for accepted
	}{
		{"CA", ProjectInput{UpstreamCA: strp(ca.CertPEM)}, ""},
		{"CA bundle with white space", ProjectInput{UpstreamCA: strp("\n" + ca.CertPEM + "\n\n" + leaf.CertPEM + "  \n")}, ""},
		{"no CA", ProjectInput{UpstreamCA: strp("")}, ""},
		{"CA not PEM", ProjectInput{UpstreamCA: strp("hello")}, "upstream_ca"},
		{"CA with text before", ProjectInput{UpstreamCA: strp("# my CA\n" + ca.CertPEM)}, "upstream_ca"},
		{"CA with text after", ProjectInput{UpstreamCA: strp(ca.CertPEM + "junk")}, "upstream_ca"},
		{"CA holding a key", ProjectInput{UpstreamCA: strp(ca.CertPEM + leaf.KeyPEM)}, "upstream_ca"},
		{"CA not a certificate", ProjectInput{UpstreamCA: strp("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}, "upstream_ca"},
		{"CA too big", ProjectInput{UpstreamCA: strp(strings.Repeat(ca.CertPEM, MaxUpstreamCABytes/len(ca.CertPEM)+1))}, "upstream_ca"},
		{"client pair", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.KeyPEM)}, ""},
		{"client pair cleared", ProjectInput{UpstreamClientCert: strp(""), UpstreamClientKey: keyp("")}, ""},
		{"cert without key", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM)}, "upstream_client_key"},
		{"key without cert", ProjectInput{UpstreamClientKey: keyp(leaf.KeyPEM)}, "upstream_client_cert"},
		{"cert with empty key", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp("")}, "upstream_client_key"},
		{"key with empty cert", ProjectInput{UpstreamClientCert: strp(""), UpstreamClientKey: keyp(leaf.KeyPEM)}, "upstream_client_cert"},
		{"key of another cert", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(other.KeyPEM)}, "upstream_client_key"},
		{"key not PEM", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp("secret")}, "upstream_client_key"},
		{"key and more", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.KeyPEM + other.KeyPEM)}, "upstream_client_key"},
		{"cert given as key", ProjectInput{UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.CertPEM)}, "upstream_client_key"},
	}
	s := openTestStore(t, "", newClock())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Name = strp("p")
			p, err := s.CreateProject(in)
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("CreateProject = %v, want it accepted", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("CreateProject = %v, want a FieldError on %s", err, tc.field)
			case err != nil && strings.Contains(err.Error(), strings.TrimSpace(strings.Split(leaf.KeyPEM, "\n")[1])):
				t.Fatalf("CreateProject's error quotes the key: %v", err)
			case err == nil && p.HasUpstreamClientKey() != (p.UpstreamClientCert != ""):
				t.Errorf("HasUpstreamClientKey = %v with cert %q", p.HasUpstreamClientKey(), p.UpstreamClientCert)
			}
		})
	}
}

// TestUpstreamTLSStored: the settings survive a restart and are held in
// the cache; the key opens only through UpstreamClientCertificate, and
// clearing drops it.
func TestUpstreamTLSStored(t *testing.T) {
	forEachBackend(t, map[string]func(*testing.T, backend, string){
		"round trip": testUpstreamTLSRoundTrip,
	})
}

func testUpstreamTLSRoundTrip(t *testing.T, b backend, space string) {
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "client", "client.test")
	c := newClock()
	s := b.open(t, space, c)
	p, err := s.CreateProject(ProjectInput{Name: strp("p"), UpstreamCA: strp(ca.CertPEM),
		UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.KeyPEM)})
	if err != nil {
		t.Fatal(err)
	}
	if b.name == "bbolt" {
		s.Close()
	}
	s2 := b.open(t, space, c)
	got, err := s2.Project(p.ID)
	if err != nil || got.UpstreamCA != ca.CertPEM || got.UpstreamClientCert != leaf.CertPEM || !got.HasUpstreamClientKey() {
		t.Fatalf("Project after reopening = %+v, %v, want the CA, the cert and a key", got, err)
	}
	cached := s2.CachedProject([]byte(p.ID))
	if cached == nil || !cached.HasUpstreamClientKey() {
		t.Fatalf("CachedProject = %+v, want the key held", cached)
	}
	cert, err := s2.UpstreamClientCertificate(cached)
	if err != nil || cert == nil || !bytes.Equal(cert.Certificate[0], leaf.TLS.Certificate[0]) {
		t.Fatalf("UpstreamClientCertificate = %v, %v, want the client certificate", cert, err)
	}
	if _, err := x509.ParsePKCS8PrivateKey(leaf.KeyDER); err != nil {
		t.Fatal(err)
	}
	moved := *cached
	moved.ID = "prj_other"
	if _, err := s2.UpstreamClientCertificate(&moved); err == nil {
		t.Errorf("UpstreamClientCertificate(the key under another project id) = nil error, want it refused")
	}
	cleared, err := s2.UpdateProject(p.ID, ProjectInput{UpstreamClientCert: strp(""), UpstreamClientKey: keyp(""), UpstreamCA: strp("")})
	if err != nil || cleared.UpstreamClientCert != "" || cleared.HasUpstreamClientKey() || cleared.UpstreamCA != "" {
		t.Fatalf("UpdateProject(clear) = %+v, %v, want nothing left", cleared, err)
	}
	if cert, err := s2.UpstreamClientCertificate(&cleared); cert != nil || err != nil {
		t.Errorf("UpstreamClientCertificate(cleared) = %v, %v, want nil, nil", cert, err)
	}
}

// TestUpstreamClientKeyNeverInClear scans the bbolt file for the client
// key, as PEM, as DER and as base64 of the DER (the JSON encoding of
// bytes): it must appear in none of these forms.
func TestUpstreamClientKeyNeverInClear(t *testing.T) {
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "client", "client.test")
	dir := t.TempDir()
	s := openTestStore(t, dir, newClock())
	p, err := s.CreateProject(ProjectInput{Name: strp("p"),
		UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.KeyPEM)})
	if err != nil {
		t.Fatal(err)
	}
	second := ca.Issue(t, "client 2", "client.test")
	if _, err := s.UpdateProject(p.ID, ProjectInput{UpstreamClientCert: strp(second.CertPEM), UpstreamClientKey: keyp(second.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(strings.Split(second.CertPEM, "\n")[1])) {
		t.Fatalf("the certificate is not in the file: the scan would find nothing anyway")
	}
	for _, l := range []testpki.Leaf{leaf, second} {
		body := strings.Join(strings.Split(strings.TrimSpace(l.KeyPEM), "\n")[1:2], "")
		for what, b := range map[string][]byte{
			"the PEM key": []byte(l.KeyPEM), "a line of the PEM key": []byte(body),
			"the DER key": l.KeyDER, "the DER key in base64": []byte(base64.StdEncoding.EncodeToString(l.KeyDER)[:40]),
			"the private scalar": l.TLS.PrivateKey.(*ecdsa.PrivateKey).D.FillBytes(make([]byte, 32)),
		} {
			if bytes.Contains(raw, b) {
				t.Errorf("%s is in the bbolt file in clear", what)
			}
		}
	}
}

// TestCopyUpstreamTLS: a project's CA, client certificate and sealed key
// travel with store copy (bbolt → etcd), and the key opens there.
func TestCopyUpstreamTLS(t *testing.T) {
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "client", "client.test")
	c := newClock()
	src := openTestStore(t, "", c)
	p, err := src.CreateProject(ProjectInput{Name: strp("p"), UpstreamCA: strp(ca.CertPEM),
		UpstreamClientCert: strp(leaf.CertPEM), UpstreamClientKey: keyp(leaf.KeyPEM)})
	if err != nil {
		t.Fatal(err)
	}
	dst := openEtcdTestStore(t, startEtcd(t), c)
	mustCopy(t, dst, src, CopyOptions{})
	var got *Project
	eventually(t, 5*time.Second, "the copied project in the cache", func() error {
		if got = dst.CachedProject([]byte(p.ID)); got == nil {
			return errors.New("not yet")
		}
		return nil
	})
	if got.UpstreamCA != ca.CertPEM || got.UpstreamClientCert != leaf.CertPEM {
		t.Fatalf("CachedProject after the copy = %+v, want the CA and the client certificate", got)
	}
	cert, err := dst.UpstreamClientCertificate(got)
	if err != nil || cert == nil {
		t.Fatalf("UpstreamClientCertificate after the copy = %v, %v, want the pair", cert, err)
	}
}
