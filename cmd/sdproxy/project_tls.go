package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// The upstream TLS settings of a project on the command line and in
// plans: PEM files read by the CLI, certificates summarised (never printed
// whole), keys never shown.

// upstreamTLSFlags reads the files named by --upstream-ca,
// --upstream-client-cert and --upstream-client-key (those changed) into
// in. An empty name clears the setting; the certificate and key go
// together.
func upstreamTLSFlags(changed func(string) bool, caFile, certFile, keyFile string, in *wire.ProjectInput) error {
	if changed("upstream-ca") {
		ca, err := readPEMFile("--upstream-ca", caFile, keystore.MaxUpstreamCABytes)
		if err != nil {
			return err
		}
		in.UpstreamCA = &ca
	}
	if changed("upstream-client-cert") != changed("upstream-client-key") {
		return fmt.Errorf("--upstream-client-cert and --upstream-client-key go together (both \"\" remove the client certificate)")
	}
	if !changed("upstream-client-cert") {
		return nil
	}
	cert, err := readPEMFile("--upstream-client-cert", certFile, keystore.MaxUpstreamClientCertBytes)
	if err != nil {
		return err
	}
	key, err := readPEMFile("--upstream-client-key", keyFile, keystore.MaxUpstreamClientKeyBytes)
	if err != nil {
		return err
	}
	in.UpstreamClientCert, in.UpstreamClientKey = &cert, &key
	return nil
}

// readPEMFile reads file (at most limit bytes); "" reads as "".
func readPEMFile(flag, file string, limit int) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	if len(b) > limit {
		return "", fmt.Errorf("%s: %s is more than %d bytes", flag, file, limit)
	}
	return string(b), nil
}

// pemSummary names the certificates of text: "CN=a (sha256:0123…), …",
// "" for none. Certificates are public, but whole PEM blocks make tables
// and plans unreadable.
func pemSummary(text string) string {
	var out []string
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sum := sha256.Sum256(b.Bytes)
		name := "?"
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			name = c.Subject.String()
		}
		out = append(out, fmt.Sprintf("%s (sha256:%s)", name, hex.EncodeToString(sum[:8])))
	}
	if len(out) == 0 && strings.TrimSpace(text) != "" {
		return "(not PEM)"
	}
	return strings.Join(out, ", ")
}

func keySetText(set bool) string {
	if set {
		return "set (never shown)"
	}
	return "-"
}
