package config

import (
	"strings"
	"testing"
)

// TestEtcdPlaintextEndpointWithTLSRefused: TLS settings for etcd
// (a CA, a client certificate, or an https:// endpoint) together with an
// http:// endpoint make the etcd client talk plaintext to every endpoint
// (the first is http://) or TLS to a plaintext one: Validate must say so.
func TestEtcdPlaintextEndpointWithTLSRefused(t *testing.T) {
	for _, tc := range []struct{ name, endpoints, ca, cert string }{
		{"ca with http", "http://10.0.0.1:2379", "ca.pem", ""},
		{"client cert with http", "http://10.0.0.1:2379", "", "c.pem"},
		{"http before https", "http://10.0.0.1:2379,https://10.0.0.2:2379", "", ""},
		{"https before http", "https://10.0.0.1:2379,http://10.0.0.2:2379", "", ""},
	} {
		c := Default()
		c.Store.Backend = BackendEtcd
		c.Store.Etcd.Endpoints = CommaList(tc.endpoints)
		c.Store.Etcd.CAFile = tc.ca
		c.Store.Etcd.CertFile, c.Store.Etcd.KeyFile = tc.cert, tc.cert
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "plaintext") {
			t.Errorf("%s: Validate() = %v, want the http:// endpoint refused", tc.name, err)
		}
	}
	c := Default()
	c.Store.Backend = BackendEtcd
	c.Store.Etcd.Endpoints = CommaList("http://10.0.0.1:2379,10.0.0.2:2379")
	if err := c.Validate(); err != nil {
		t.Errorf("plain http endpoints without TLS settings: Validate() = %v, want nil", err)
	}
}
