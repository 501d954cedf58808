package config

// TLS makes a listener speak TLS (1.2 or later, ECDHE with AEAD cipher
// suites only). The certificate and key are read at start and again on
// SIGHUP or when either file changes; a failed reload keeps the old pair.
type TLS struct {
	// CertFile is the PEM certificate chain, leaf first. Empty (with
	// KeyFile empty) means plain HTTP.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of the leaf; set with CertFile.
	KeyFile string `yaml:"key_file"`
}

// AdminTLS is TLS for the admin listener, with optional client
// certificates.
type AdminTLS struct {
	// CertFile and KeyFile are as in TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of CAs. Set, every admin client must
	// present a certificate signed by one of them (on top of the admin
	// token). Empty means no client certificate is asked for.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether the listener serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Enabled reports whether the admin listener serves TLS.
func (t AdminTLS) Enabled() bool { return t.CertFile != "" }

// validate reports through bad the problems that need no file access:
// cert and key go together, a client CA needs TLS.
func (t TLS) validate(name string, bad func(format string, a ...any)) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("%s.cert_file and %s.key_file go together: set both or neither", name, name)
	}
}

func (t AdminTLS) validate(bad func(format string, a ...any)) {
	TLS{CertFile: t.CertFile, KeyFile: t.KeyFile}.validate("admin_tls", bad)
	if t.ClientCAFile != "" && t.CertFile == "" {
		bad("admin_tls.client_ca_file needs admin_tls.cert_file and admin_tls.key_file: client certificates are asked for only over TLS")
	}
}
