package config

import (
	"strings"
	"testing"
)

// An endpoint whose password holds '/', '?' or '#' (base64 passwords have
// '/') must be refused without quoting the password: redactEndpoint looks
// for '@' only before the first '/', '?' or '#', and url.Parse's error for
// such an endpoint quotes part of it.
func TestDiffReviewEtcdEndpointPasswordWithSlashNotQuoted(t *testing.T) {
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
