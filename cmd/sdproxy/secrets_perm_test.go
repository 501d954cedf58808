package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// secretModes are the file modes the secret loaders accept or refuse.
var secretModes = []struct {
	mode fs.FileMode
	ok   bool
}{
	{0o600, true},
	{0o400, true},
	{0o640, false},
	{0o644, false},
	{0o604, false},
	{0o660, false},
	{0o620, false},
	{0o601, false},
}

// writeSecret writes content to dir/name with exactly mode (whatever the
// umask) and returns its path.
func writeSecret(t *testing.T, dir, name, content string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkModeErr checks err against a file of mode at path: nil when ok,
// else one line that names the file, its mode and the fix.
func checkModeErr(t *testing.T, call string, err error, path string, mode fs.FileMode, ok bool) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("%s with mode %04o = %v, want nil", call, mode, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s with mode %04o = nil error, want a refusal", call, mode)
	}
	msg := err.Error()
	for _, want := range []string{path + " is ", "group or others", fmt.Sprintf("(mode %04o)", mode), "run chmod 600 " + path} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s with mode %04o = %q, want it to contain %q", call, mode, msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("%s = %q, want one line", call, msg)
	}
}

func TestLoadMasterKeyFileMode(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	enc := base64.StdEncoding.EncodeToString(raw)
	sources := []struct {
		name string
		// setup writes the key file of mode under dir and returns the
		// config and environment that make the loader read it.
		setup func(t *testing.T, dir string) (config.Config, fakeEnv)
		load  func(config.Config, func(string) string) ([]byte, bool, error)
	}{
		{"data dir master.key", func(t *testing.T, dir string) (config.Config, fakeEnv) {
			cfg := config.Default()
			cfg.DataDir = dir
			return cfg, fakeEnv{}
		}, loadMasterKey},
		{"data dir master.key, no create", func(t *testing.T, dir string) (config.Config, fakeEnv) {
			cfg := config.Default()
			cfg.DataDir = dir
			return cfg, fakeEnv{}
		}, loadMasterKeyNoCreate},
		{"SDPROXY_MASTER_KEY_FILE", func(t *testing.T, dir string) (config.Config, fakeEnv) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			return cfg, fakeEnv{config.EnvMasterKeyFile: filepath.Join(dir, masterKeyFile)}
		}, loadMasterKey},
		{"master_key_file", func(t *testing.T, dir string) (config.Config, fakeEnv) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.MasterKeyFile = filepath.Join(dir, masterKeyFile)
			return cfg, fakeEnv{}
		}, loadMasterKey},
	}
	for _, src := range sources {
		for _, m := range secretModes {
			t.Run(fmt.Sprintf("%s %04o", src.name, m.mode), func(t *testing.T) {
				dir := t.TempDir()
				path := writeSecret(t, dir, masterKeyFile, enc, m.mode)
				cfg, env := src.setup(t, dir)
				key, generated, err := src.load(cfg, env.get)
				checkModeErr(t, "loadMasterKey", err, path, m.mode, m.ok)
				if m.ok && (!bytes.Equal(key, raw) || generated) {
					t.Errorf("loadMasterKey = %x, generated %v, want %x from the file", key, generated, raw)
				}
			})
		}
	}
}

func TestLoadAdminTokenFileMode(t *testing.T) {
	const token = "sdpa_0123456789abcdef0123456789abcdef"
	for _, m := range secretModes {
		t.Run(fmt.Sprintf("%04o", m.mode), func(t *testing.T) {
			dir := t.TempDir()
			path := writeSecret(t, dir, adminTokenFile, token, m.mode)
			got, gotPath, err := loadAdminToken(config.Config{DataDir: dir}, fakeEnv{}.get)
			checkModeErr(t, "loadAdminToken", err, path, m.mode, m.ok)
			if m.ok && (got != token || gotPath != path) {
				t.Errorf("loadAdminToken(%s) = %q, %q, want %q, %q", dir, got, gotPath, token, path)
			}
		})
	}
}

// TestLoadAdminTokenFromConfiguredFile: SDPROXY_ADMIN_TOKEN_FILE (or
// admin_token_file) names the token, e.g. a docker secret; it is checked
// like every secret file, never generated, and SDPROXY_ADMIN_TOKEN wins.
func TestLoadAdminTokenFromConfiguredFile(t *testing.T) {
	const token = "sdpa_0123456789abcdef0123456789abcdef"
	for _, m := range secretModes {
		t.Run(fmt.Sprintf("env file %04o", m.mode), func(t *testing.T) {
			dir, secrets := t.TempDir(), t.TempDir()
			path := writeSecret(t, secrets, "token", token, m.mode)
			got, gotPath, err := loadAdminToken(config.Config{DataDir: dir}, fakeEnv{config.EnvAdminTokenFile: path}.get)
			checkModeErr(t, "loadAdminToken", err, path, m.mode, m.ok)
			if m.ok && (got != token || gotPath != path) {
				t.Errorf("loadAdminToken = %q, %q, want %q, %q", got, gotPath, token, path)
			}
			if _, err := os.Stat(adminTokenPath(dir)); err == nil {
				t.Errorf("loadAdminToken with a token file created %s", adminTokenPath(dir))
			}
		})
	}
	t.Run("config key", func(t *testing.T) {
		path := writeSecret(t, t.TempDir(), "token", token, 0o600)
		got, _, err := loadAdminToken(config.Config{DataDir: t.TempDir(), AdminTokenFile: path}, fakeEnv{}.get)
		if err != nil || got != token {
			t.Errorf("loadAdminToken(admin_token_file) = %q, %v, want the file's token", got, err)
		}
	})
	t.Run("missing file is an error, not a generated token", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent")
		_, _, err := loadAdminToken(config.Config{DataDir: t.TempDir()}, fakeEnv{config.EnvAdminTokenFile: path}.get)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("loadAdminToken(missing file) = %v, want an error naming %s", err, path)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("loadAdminToken created the missing token file %s", path)
		}
	})
	t.Run("short token in the file", func(t *testing.T) {
		path := writeSecret(t, t.TempDir(), "token", "short-secret", 0o600)
		_, _, err := loadAdminToken(config.Config{DataDir: t.TempDir()}, fakeEnv{config.EnvAdminTokenFile: path}.get)
		if err == nil || !strings.Contains(err.Error(), "want at least 32") || strings.Contains(err.Error(), "short-secret") {
			t.Errorf("loadAdminToken(short file) = %v, want a refusal that does not show the token", err)
		}
	})
	t.Run("SDPROXY_ADMIN_TOKEN wins", func(t *testing.T) {
		path := writeSecret(t, t.TempDir(), "token", token, 0o600)
		envToken := strings.Repeat("e", 40)
		got, gotPath, err := loadAdminToken(config.Config{DataDir: t.TempDir()}, fakeEnv{config.EnvAdminTokenFile: path, config.EnvAdminToken: envToken}.get)
		if err != nil || got != envToken || gotPath != "" {
			t.Errorf("loadAdminToken = %q, %q, %v, want the environment's token", got, gotPath, err)
		}
	})
}

func TestLoadAdminTokenEnvLength(t *testing.T) {
	cases := []struct {
		name, token string
		wantErr     string // "" for accepted
	}{
		{"one character", "t", "(got 1)"},
		{"wrong-token", "wrong-token", "(got 11)"},
		{"31 characters", strings.Repeat("a", 31), "(got 31)"},
		{"32 characters", strings.Repeat("a", 32), ""},
		{"openssl rand -base64 32", "q9b7y0V1m6O3nC7mQ1kq0nQx3nZQ3m9w0V8r6bq4l1E=", ""},
		{"e2e harness token", e2e.NewAdminToken(t), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			got, path, err := loadAdminToken(config.Config{DataDir: dir}, fakeEnv{config.EnvAdminToken: tc.token}.get)
			if tc.wantErr == "" {
				if err != nil || got != tc.token || path != "" {
					t.Errorf("loadAdminToken(%s=%q) = %q, %q, %v, want the token, \"\", nil", config.EnvAdminToken, tc.token, got, path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadAdminToken(%s=%q) = %q, nil, want a refusal", config.EnvAdminToken, tc.token, got)
			}
			for _, want := range []string{config.EnvAdminToken + " must be at least 32 characters", tc.wantErr, "openssl rand -base64 32"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("loadAdminToken(%s=%q) = %v, want it to contain %q", config.EnvAdminToken, tc.token, err, want)
				}
			}
			if len(tc.token) > 8 && strings.Contains(err.Error(), tc.token) {
				t.Errorf("loadAdminToken(%s=%q) = %v, want the error not to show the token", config.EnvAdminToken, tc.token, err)
			}
			if _, err := os.Stat(adminTokenPath(dir)); err == nil {
				t.Errorf("loadAdminToken refused the env token but created %s", adminTokenPath(dir))
			}
		})
	}
}

// TestE2ESecretRefusals: the real binary refuses to start, with one line.
func TestE2ESecretRefusals(t *testing.T) {
	t.Run("master.key readable by others", func(t *testing.T) {
		dir := t.TempDir()
		writeSecret(t, dir, masterKeyFile, e2e.NewMasterKey(t), 0o644)
		stderr, code := refusedStart(t, serveEnv(t, dir, ""))
		wantReason(t, stderr, code, "master key file <path> is readable by group or others (mode 0644): run chmod 600 <path>")
	})
	t.Run("admin.token readable by group", func(t *testing.T) {
		dir := t.TempDir()
		writeSecret(t, dir, adminTokenFile, e2e.NewAdminToken(t), 0o640)
		stderr, code := refusedStart(t, serveEnv(t, dir, e2e.NewMasterKey(t)))
		wantReason(t, stderr, code, "admin token file <path> is readable by group or others (mode 0640): run chmod 600 <path>")
	})
	t.Run("short SDPROXY_ADMIN_TOKEN", func(t *testing.T) {
		env := serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
		env[config.EnvAdminToken] = "short-token"
		stderr, code := refusedStart(t, env)
		wantReason(t, stderr, code, "SDPROXY_ADMIN_TOKEN must be at least 32 characters (got 11)")
	})
}
