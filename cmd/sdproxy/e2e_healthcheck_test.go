package main

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// healthcheck runs `sdproxy healthcheck` with env and args.
func healthcheck(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	stdout, stderr, code := e2e.Run(t, 30*time.Second, env, append([]string{"healthcheck"}, args...)...)
	return stdout + stderr, code
}

func TestE2EHealthcheck(t *testing.T) {
	env := serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
	p := e2e.Start(t, env)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"the admin listener serve uses", env, nil, 0},
		{"--url", nil, []string{"--url", "http://" + p.AdminAddr + "/readyz"}, 0},
		{"--url answering 404", nil, []string{"--url", "http://" + p.AdminAddr + "/nowhere"}, 1},
		{"nothing listening", map[string]string{config.EnvAdminListen: e2e.FreeAddr(t)}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if out, code := healthcheck(t, tc.env, tc.args...); code != tc.code {
				t.Errorf("sdproxy healthcheck %v = exit %d (%q), want %d", tc.args, code, out, tc.code)
			}
		})
	}
}

// TestE2EHealthcheckTLS checks an admin listener with TLS and client
// certificates, from serve's own settings: the certificate it serves is
// trusted as it is, the client certificate comes from the CLI's variables.
func TestE2EHealthcheckTLS(t *testing.T) {
	x := startTLSE2E(t)
	env := maps.Clone(x.env)
	env[config.EnvAdminClientCertFile], env[config.EnvAdminClientKeyFile] = x.clientCert, x.clientK
	if out, code := healthcheck(t, env); code != 0 || !strings.Contains(out, "ready: https://") {
		t.Errorf("sdproxy healthcheck over mTLS = exit %d (%q), want 0 and ready", code, out)
	}
	if out, code := healthcheck(t, x.env); code != 1 {
		t.Errorf("sdproxy healthcheck without a client certificate = exit %d (%q), want 1", code, out)
	}
}
