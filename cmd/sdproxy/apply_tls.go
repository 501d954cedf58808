package main

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// A project's upstream TLS in a policy file: upstream_ca and
// upstream_client_cert as PEM text or as *_file (a path relative to the
// policy file), and the client key only as upstream_client_key_file, since
// a secret has no place in a file kept in version control. The server
// never gives the key back, so apply decides whether to send it from the
// certificate: the key must match the certificate, so the same
// certificate means the same key. It sends the pair when the certificate
// differs from the server's (or the server holds none), and needs the key
// file only then; export writes the certificate without a key, and
// applying that export changes nothing.

// decodeUpstreamTLS decodes the upstream TLS settings of a project into in
// and returns the key file's path ("" when none).
func (d *fileDecoder) decodeUpstreamTLS(m map[string]*yaml.Node, field string, in *wire.ProjectInput) string {
	if pem, ok := d.pemSetting(m, field, "upstream_ca", keystore.MaxUpstreamCABytes); ok {
		in.UpstreamCA = &pem
	}
	cert, certOK := d.pemSetting(m, field, "upstream_client_cert", keystore.MaxUpstreamClientCertBytes)
	kn := m["upstream_client_key_file"]
	if kn == nil {
		if certOK {
			in.UpstreamClientCert = &cert
			if cert == "" { // removes the pair
				in.UpstreamClientKey = new(string)
			}
		}
		return ""
	}
	kf := field + ".upstream_client_key_file"
	path, ok := d.str(kn, kf)
	if !ok {
		return ""
	}
	if !certOK || cert == "" {
		d.fail(kn, kf, "goes with upstream_client_cert or upstream_client_cert_file (a certificate)")
		return ""
	}
	key, ok := d.readFile(kn, kf, path, keystore.MaxUpstreamClientKeyBytes)
	if !ok {
		return ""
	}
	if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
		d.fail(kn, kf, "is not the private key of upstream_client_cert (PEM, unencrypted)")
		return ""
	}
	in.UpstreamClientCert, in.UpstreamClientKey = &cert, &key
	return path
}

// pemSetting decodes name (PEM text) or name_file (a file of it),
// normalised as the server stores it; ok is false when neither is given
// or it is not valid.
func (d *fileDecoder) pemSetting(m map[string]*yaml.Node, field, name string, limit int) (string, bool) {
	text, file := m[name], m[name+"_file"]
	var (
		n   *yaml.Node
		f   string
		pem string
		ok  bool
	)
	switch {
	case text != nil && file != nil:
		d.fail(file, field+"."+name+"_file", "give %s or %s_file, not both", name, name)
		return "", false
	case text != nil:
		n, f = text, field+"."+name
		pem, ok = d.str(n, f)
	case file != nil:
		n, f = file, field+"."+name+"_file"
		var path string
		if path, ok = d.str(n, f); ok {
			pem, ok = d.readFile(n, f, path, limit)
		}
	default:
		return "", false
	}
	if !ok {
		return "", false
	}
	norm, err := keystore.NormalizeCertPEM(name, pem, limit)
	if err != nil {
		d.fail(n, f, "%s", err.(*keystore.FieldError).Msg)
		return "", false
	}
	return norm, true
}

// readFile reads path, relative to the policy file, at most limit bytes.
func (d *fileDecoder) readFile(n *yaml.Node, field, path string, limit int) (string, bool) {
	if path == "" {
		d.fail(n, field, "must name a file")
		return "", false
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	// Opened without blocking (a FIFO without a writer would block in
	// open), refused unless it is a regular file (/dev/zero, a FIFO),
	// and read at most limit+1 bytes (a huge file is refused, not read
	// to its end).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		d.fail(n, field, "%v", err)
		return "", false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		d.fail(n, field, "%s is not a regular file", path)
		return "", false
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		d.fail(n, field, "%v", err)
		return "", false
	}
	if len(b) > limit {
		d.fail(n, field, "%s is more than %d bytes", path, limit)
		return "", false
	}
	return string(b), true
}

// clientCertChange reports whether in's client certificate differs from
// p's: another certificate, one where the server holds no key, or a
// removal of one the server holds.
func clientCertChange(in wire.ProjectInput, p wire.Project) bool {
	v := in.UpstreamClientCert
	if v == nil {
		return false
	}
	if *v == "" {
		return p.UpstreamClientCert != "" || p.UpstreamClientKeySet
	}
	return *v != p.UpstreamClientCert || !p.UpstreamClientKeySet
}

// keyState is how plans show a client key: never its value.
func keyState(set bool, file string) string {
	switch {
	case !set:
		return "(none)"
	case file != "":
		return "(set from " + file + ", never shown)"
	}
	return "(set, never shown)"
}
