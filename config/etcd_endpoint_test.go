package config

import (
	"strings"
	"testing"
)

// An etcd endpoint written with credentials (http://user:password@host:2379,
// as many tools accept) passes Validate, though the etcd client ignores
// the userinfo (the password belongs in SDPROXY_ETCD_PASSWORD[_FILE]); the
// endpoint is then quoted, password included, in serve's startup error
// ("etcd at http://root:s3cret@…: … context deadline exceeded") and in
// validation errors, i.e. in container logs. Validate should refuse
// credentials in an endpoint and never quote the password.
func TestEtcdEndpointWithCredentials(t *testing.T) {
	for _, ep := range []string{
		"http://root:s3cretpw@10.0.0.1:2379",  // passes Validate today
		"https://root:s3cretpw@10.0.0.1:2379", // likewise
		"http://root:s3cretpw@10.0.0.1:x",     // refused, but quoted with the password
	} {
		c := Default()
		c.Store.Backend, c.Store.Etcd.Endpoints = BackendEtcd, CommaList(ep)
		err := c.Validate()
		switch {
		case err == nil:
			t.Errorf("Validate(endpoint %q) = nil, want credentials in an endpoint refused (use %s / %s)", ep, EnvEtcdUsername, EnvEtcdPasswordFile)
		case strings.Contains(err.Error(), "s3cretpw"):
			t.Errorf("Validate(endpoint %q) = %q: the error quotes the password", ep, err)
		}
	}
}

// TestEtcdEndpointPasswordWithSlashNotQuoted: an endpoint whose password
// holds '/', '?' or '#' (base64 passwords have '/') is refused without
// quoting the password, though url.Parse reads part of it as a host or a
// path.
func TestEtcdEndpointPasswordWithSlashNotQuoted(t *testing.T) {
	for _, ep := range []string{
		"http://root:ab/cdSECRET@10.0.0.1:2379",
		"https://root:ab?cdSECRET@10.0.0.1:2379",
		"root:ab#cdSECRET@10.0.0.1:2379",
		"root:abSEC/RET@10.0.0.1:2379",
		"http://root:SECRETpw/x@10.0.0.1:2379",
	} {
		c := Default()
		c.Store.Backend, c.Store.Etcd.Endpoints = BackendEtcd, CommaList(ep)
		err := c.Validate()
		switch {
		case err == nil:
			t.Errorf("Validate(endpoint %q) = nil, want it refused", ep)
		case strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "SEC"):
			t.Errorf("Validate(endpoint %q) = %q: the error quotes (part of) the password", ep, err)
		}
	}
}
