package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/internal/testpki"
)

// admJSON is v as JSON text.
func admJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdminProjectUpstreamTLS: upstream_ca and the client certificate are
// set, shown and cleared through the API; the key is write-only: no
// answer ever holds it, only upstream_client_key_set.
func TestAdminProjectUpstreamTLS(t *testing.T) {
	e := newAdmEnv(t)
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "client", "client.test")
	keyLine := strings.Split(leaf.KeyPEM, "\n")[1]
	noKey := func(what string, r admResp) {
		t.Helper()
		if strings.Contains(string(r.body), keyLine[:32]) || strings.Contains(string(r.body), `"upstream_client_key"`) {
			t.Fatalf("%s = %s, want no client key in it", what, r.body)
		}
	}
	r := e.callOK("POST", "/admin/v1/projects", admJSON(t, map[string]string{"name": "mtls",
		"upstream": "https://up.example", "upstream_ca": ca.CertPEM,
		"upstream_client_cert": leaf.CertPEM, "upstream_client_key": leaf.KeyPEM}), 201)
	noKey("POST /admin/v1/projects", r)
	var p wire.Project
	admDecode(t, r.body, &p)
	if p.UpstreamCA != ca.CertPEM || p.UpstreamClientCert != leaf.CertPEM || !p.UpstreamClientKeySet {
		t.Fatalf("POST /admin/v1/projects = %s, want the CA, the certificate and upstream_client_key_set", r.body)
	}
	path := "/admin/v1/projects/" + p.ID
	noKey("GET "+path, e.callOK("GET", path, "", 200))
	noKey("GET /admin/v1/projects", e.callOK("GET", "/admin/v1/projects", "", 200))

	for _, tc := range []struct{ body, field string }{
		{admJSON(t, map[string]string{"upstream_client_cert": leaf.CertPEM}), "upstream_client_key"},
		{admJSON(t, map[string]string{"upstream_client_key": leaf.KeyPEM}), "upstream_client_cert"},
		{admJSON(t, map[string]string{"upstream_ca": "not PEM"}), "upstream_ca"},
		{admJSON(t, map[string]string{"upstream_ca": leaf.KeyPEM}), "upstream_ca"},
		{admJSON(t, map[string]string{"upstream_client_cert": ca.CertPEM, "upstream_client_key": leaf.KeyPEM}), "upstream_client_key"},
	} {
		r := e.call("PATCH", path, tc.body)
		msg := wantError(t, r, "PATCH "+path+" (bad "+tc.field+")", 400, "invalid_request")
		if !strings.HasPrefix(msg, tc.field+":") {
			t.Errorf("PATCH %s message = %q, want it to name %s", path, msg, tc.field)
		}
		noKey("PATCH "+path, r)
	}

	r = e.callOK("PATCH", path, `{"upstream_client_cert":"","upstream_client_key":"","upstream_ca":""}`, 200)
	admDecode(t, r.body, &p)
	if p.UpstreamCA != "" || p.UpstreamClientCert != "" || p.UpstreamClientKeySet {
		t.Errorf("PATCH (clear) = %s, want no CA, no certificate, no key", r.body)
	}
}
