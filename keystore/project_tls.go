package keystore

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
)

// A project's TLS towards its upstream and destinations: the CA
// certificates they are verified against (instead of the system's roots)
// and a client certificate for mTLS. Certificates are public and stored
// as given (normalised PEM); the client certificate's private key is a
// secret: it is sealed under a key derived from the master key, bound to
// the project id, and only UpstreamClientCertificate opens it.

// Limits of the PEM settings.
const (
	MaxUpstreamCABytes         = 64 << 10
	MaxUpstreamClientCertBytes = 64 << 10
	MaxUpstreamClientKeyBytes  = 16 << 10
)

// clientKeyPurpose derives the key that seals client keys, and prefixes
// their associated data.
const clientKeyPurpose = "sdproxy upstream client key v1"

// PrivateKeyPEM is a private key in PEM. It never shows in logs or in
// formatted output.
type PrivateKeyPEM string

// String hides the key.
func (PrivateKeyPEM) String() string { return "[redacted]" }

// GoString hides the key.
func (PrivateKeyPEM) GoString() string { return "[redacted]" }

// LogValue hides the key.
func (PrivateKeyPEM) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// HasUpstreamClientKey reports whether the project holds a client
// certificate's private key (always with UpstreamClientCert).
func (p *Project) HasUpstreamClientKey() bool { return len(p.clientKeySealed) > 0 }

// NormalizeCertPEM checks that text holds one or more PEM blocks of type
// CERTIFICATE, each an X.509 certificate, and nothing but white space
// around them, at most limit bytes; it returns them re-encoded (without
// PEM headers), which is how the store keeps them. "" stays "". field
// names the setting in the error, a *FieldError.
func NormalizeCertPEM(field, text string, limit int) (string, error) {
	if text == "" {
		return "", nil
	}
	if len(text) > limit {
		return "", invalid(field, "must be at most %d bytes of PEM", limit)
	}
	var out bytes.Buffer
	rest := bytes.TrimSpace([]byte(text))
	for n := 1; len(rest) > 0; n++ {
		b, next := nextPEM(rest)
		switch {
		case b == nil && n == 1:
			return "", invalid(field, "must hold only PEM CERTIFICATE blocks (-----BEGIN CERTIFICATE----- …), and no other text")
		case b == nil:
			return "", invalid(field, "must hold only PEM CERTIFICATE blocks: what follows block %d is not PEM", n-1)
		}
		if b.Type != "CERTIFICATE" {
			return "", invalid(field, "must hold only PEM CERTIFICATE blocks: block %d is a %q block", n, b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return "", invalid(field, "block %d is not an X.509 certificate", n)
		}
		pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})
		rest = next
	}
	if out.Len() == 0 {
		return "", invalid(field, "must hold at least one PEM CERTIFICATE block")
	}
	return out.String(), nil
}

// nextPEM decodes the PEM block rest starts with (nil when it does not
// start with one: pem.Decode would skip text before it) and returns what
// follows, trimmed.
func nextPEM(rest []byte) (*pem.Block, []byte) {
	if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
		return nil, nil
	}
	b, next := pem.Decode(rest)
	return b, bytes.TrimSpace(next)
}

// normalizeClientKey checks that key is one PEM private key, nothing else,
// that matches the certificate chain cert (normalised), and returns the
// key re-encoded without headers. Its errors never quote the key.
func normalizeClientKey(cert string, key PrivateKeyPEM) ([]byte, error) {
	const field = "upstream_client_key"
	if len(key) > MaxUpstreamClientKeyBytes {
		return nil, invalid(field, "must be at most %d bytes of PEM", MaxUpstreamClientKeyBytes)
	}
	b, rest := nextPEM(bytes.TrimSpace([]byte(key)))
	switch {
	case b == nil:
		return nil, invalid(field, "must be one PEM private key block")
	case len(rest) > 0:
		return nil, invalid(field, "must be one PEM private key block and nothing else")
	case b.Type != "PRIVATE KEY" && b.Type != "EC PRIVATE KEY" && b.Type != "RSA PRIVATE KEY":
		return nil, invalid(field, "must be a PEM PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block, not %q", b.Type)
	case len(b.Headers) > 0:
		return nil, invalid(field, "must not be encrypted or carry PEM headers")
	}
	out := pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes})
	if _, err := tls.X509KeyPair([]byte(cert), out); err != nil {
		return nil, invalid(field, "does not match upstream_client_cert (or is not a key Go's TLS can use)")
	}
	return out, nil
}

// applyUpstreamTLS validates the TLS settings of in and copies them into
// p. A client certificate and its key are set (or cleared, both "")
// together; the key, when one is set, is returned to be sealed once p has
// its id.
func applyUpstreamTLS(p *Project, in ProjectInput) (key []byte, err error) {
	if in.UpstreamCA != nil {
		ca, err := NormalizeCertPEM("upstream_ca", *in.UpstreamCA, MaxUpstreamCABytes)
		if err != nil {
			return nil, err
		}
		p.UpstreamCA = ca
	}
	switch {
	case in.UpstreamClientCert == nil && in.UpstreamClientKey == nil:
		return nil, nil
	case in.UpstreamClientCert == nil:
		return nil, invalid("upstream_client_cert", "must be given together with upstream_client_key")
	case in.UpstreamClientKey == nil:
		return nil, invalid("upstream_client_key", "must be given together with upstream_client_cert")
	case *in.UpstreamClientCert == "" && *in.UpstreamClientKey == "":
		p.UpstreamClientCert, p.clientKeySealed = "", nil
		return nil, nil
	case *in.UpstreamClientKey == "":
		return nil, invalid("upstream_client_key", "is required with upstream_client_cert (\"\" for both clears them)")
	}
	cert, err := NormalizeCertPEM("upstream_client_cert", *in.UpstreamClientCert, MaxUpstreamClientCertBytes)
	if err != nil {
		return nil, err
	}
	if cert == "" {
		return nil, invalid("upstream_client_cert", "is required with upstream_client_key (\"\" for both clears them)")
	}
	if key, err = normalizeClientKey(cert, *in.UpstreamClientKey); err != nil {
		return nil, err
	}
	p.UpstreamClientCert = cert
	return key, nil
}

// clientKeyAD binds a sealed client key to its project.
func clientKeyAD(project string) []byte { return []byte(clientKeyPurpose + "\x00" + project) }

// sealClientKey seals key (PEM) into p, which has its id.
func (s *Store) sealClientKey(p *Project, key []byte) error {
	sealed, err := seal(s.opts.Rand, s.clientKeyKEK, key, clientKeyAD(p.ID))
	clear(key)
	if err != nil {
		return err
	}
	p.clientKeySealed = sealed
	return nil
}

// UpstreamClientCertificate returns the client certificate of p (as held
// by the store) with its private key, for TLS towards p's upstream and
// destinations; nil when p has none. The key is opened on every call:
// callers keep the result for as long as p stays the same.
func (s *Store) UpstreamClientCertificate(p *Project) (*tls.Certificate, error) {
	if !p.HasUpstreamClientKey() {
		return nil, nil
	}
	key, err := open(s.clientKeyKEK, p.clientKeySealed, clientKeyAD(p.ID))
	if err != nil {
		return nil, fmt.Errorf("keystore.UpstreamClientCertificate %s: the sealed key does not open: %w", p.ID, ErrWrongMasterKey)
	}
	defer clear(key)
	c, err := tls.X509KeyPair([]byte(p.UpstreamClientCert), key)
	if err != nil {
		return nil, fmt.Errorf("keystore.UpstreamClientCertificate %s: %w", p.ID, err)
	}
	return &c, nil
}
