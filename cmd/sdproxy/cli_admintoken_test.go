package main

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

// serve trims SDPROXY_ADMIN_TOKEN (loadAdminToken: "a secret made from a
// file keeps its newline") and the admin API ignores surrounding spaces;
// DESIGN §2: "The CLI reads the same variable". A token with a trailing
// newline or carriage return (a Kubernetes secret made from a file, an env
// file with CRLF line ends) must work for the CLI as it does for serve.
func TestCLITrimsAdminTokenFromEnv(t *testing.T) {
	for _, suffix := range []string{"\n", "\r\n", "\r", " "} {
		f := newFakeAdmin(t)
		env := f.env()
		env[config.EnvAdminToken] = "fake-token" + suffix
		// serve accepts the same value (apart from its length rule).
		if got := strings.TrimSpace(env[config.EnvAdminToken]); got != "fake-token" {
			t.Fatalf("setup: %q", got)
		}
		out, stderr, code := runCmd(t, env, "", "project", "list")
		if code != 0 {
			t.Errorf("SDPROXY_ADMIN_TOKEN=%q: sdproxy project list = exit %d, stdout %q, stderr %q; want exit 0 (serve trims the same variable)",
				"fake-token"+suffix, code, out, stderr)
		}
	}
}
