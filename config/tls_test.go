package config

import (
	"strings"
	"testing"
)

func TestTLSFromEnv(t *testing.T) {
	env := map[string]string{
		EnvTLSCertFile: "/d.crt", EnvTLSKeyFile: "/d.key",
		EnvAdminTLSCertFile: "/a.crt", EnvAdminTLSKeyFile: "/a.key", EnvAdminTLSClientCAFile: "/ca.pem",
	}
	c := Default()
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := Config{TLS: TLS{"/d.crt", "/d.key"}, AdminTLS: AdminTLS{"/a.crt", "/a.key", "/ca.pem"}}
	if c.TLS != want.TLS || c.AdminTLS != want.AdminTLS {
		t.Errorf("ApplyEnv = %+v %+v, want %+v %+v", c.TLS, c.AdminTLS, want.TLS, want.AdminTLS)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	if got := c.AdminURL("0.0.0.0:8081"); got != "https://127.0.0.1:8081" {
		t.Errorf("AdminURL with admin TLS = %q, want https://127.0.0.1:8081", got)
	}
}

func TestTLSValidate(t *testing.T) {
	cases := []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"cert without key", func(c *Config) { c.TLS.CertFile = "/c" }, "tls.cert_file and tls.key_file go together"},
		{"key without cert", func(c *Config) { c.TLS.KeyFile = "/k" }, "tls.cert_file and tls.key_file go together"},
		{"admin cert without key", func(c *Config) { c.AdminTLS.CertFile = "/c" }, "admin_tls.cert_file and admin_tls.key_file go together"},
		{"client CA without TLS", func(c *Config) { c.AdminTLS.ClientCAFile = "/ca" }, "admin_tls.client_ca_file needs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
