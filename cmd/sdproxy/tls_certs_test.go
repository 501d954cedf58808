package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdproxy/sdproxy/internal/testpki"
)

// testCA is a certificate authority made in the test (testpki's), with
// its certificate in a PEM file, as serve's settings name it.
type testCA struct {
	*testpki.CA
	File string // the CA certificate, PEM
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca := &testCA{CA: testpki.NewCA(t, "sdproxy test CA"), File: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(ca.File, []byte(ca.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca
}

// Issue makes a leaf for 127.0.0.1 and localhost named cn (server and
// client use) and writes it to certFile and keyFile.
func (ca *testCA) Issue(t *testing.T, cn, certFile, keyFile string) tls.Certificate {
	t.Helper()
	leaf := ca.CA.Issue(t, cn, "localhost", "127.0.0.1")
	// Write through temporary files and rename, as a certificate
	// renewal tool does, so a reload never sees half a file.
	for _, f := range []struct{ path, pem string }{{keyFile, leaf.KeyPEM}, {certFile, leaf.CertPEM}} {
		if err := os.WriteFile(f.path+".tmp", []byte(f.pem), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".tmp", f.path); err != nil {
			t.Fatal(err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}
