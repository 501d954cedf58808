package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
)

// fakeEnv is an environment for getenv.
type fakeEnv map[string]string

func (e fakeEnv) get(name string) string { return e[name] }

func TestRunHelp(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"root --help", []string{"--help"}, []string{"serve", "project", "key"}},
		{"root -h", []string{"-h"}, []string{"serve", "project", "key"}},
		{"serve --help", []string{"serve", "--help"}, []string{"--listen", "--admin-listen", "--data-dir", "--config", "SDPROXY_MASTER_KEY"}},
		{"project --help", []string{"project", "--help"}, []string{"create", "list", "show", "update", "delete", "--admin-addr", "--output"}},
		{"key --help", []string{"key", "--help"}, []string{"create", "list", "update", "revoke", "rotate", "--project"}},
		{"serve --help names the secret files", []string{"serve", "--help"}, []string{"SDPROXY_MASTER_KEY_FILE", "SDPROXY_ADMIN_TOKEN_FILE", "admin_token_file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr, fakeEnv{}.get)
			if code != 0 {
				t.Fatalf("run(%q) = %d (stderr %q), want 0", tc.args, code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("run(%q) stdout = %q, want it to mention %q", tc.args, stdout.String(), w)
				}
			}
		})
	}
	// update changes only the flags given: it shows no defaults, and
	// not the environment, which is fixed at creation.
	var stdout, stderr bytes.Buffer
	code := run([]string{"project", "update", "--help"}, &stdout, &stderr, fakeEnv{}.get)
	own, _, _ := strings.Cut(stdout.String(), "Global Flags:")
	if code != 0 || !strings.Contains(own, "--max-active-keys") || strings.Contains(own, "environment") || strings.Contains(own, "default") {
		t.Errorf("project update --help = %d, %q; want its flags, neither --environment nor defaults", code, stdout.String())
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRunErrors(t *testing.T) {
	empty := t.TempDir()
	withToken := t.TempDir()
	if err := os.WriteFile(filepath.Join(withToken, adminTokenFile), []byte("sdpa_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	down := "http://" + closedAddr(t)
	cases := []struct {
		name string
		args []string
		env  fakeEnv
		want string // in stderr
	}{
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"key without --project", []string{"key", "list", "--data-dir", withToken}, nil, "--project is required"},
		{"key without --project: no call is made", []string{"key", "list", "--admin-addr", down}, fakeEnv{config.EnvAdminToken: "t"}, "--project is required"},
		{"bad --output", []string{"project", "list", "--output", "yaml", "--data-dir", withToken}, nil, "--output must be table or json"},
		{"no admin token", []string{"project", "list", "--data-dir", empty}, nil, config.EnvAdminToken},
		{"no admin token via env data dir", []string{"project", "list"}, fakeEnv{config.EnvDataDir: empty}, filepath.Join(empty, adminTokenFile)},
		{"admin API down", []string{"project", "list", "--admin-addr", down}, fakeEnv{config.EnvAdminToken: "t"}, "cannot reach the admin API"},
		{"admin API down via env", []string{"key", "list", "--project", "prj_x"}, fakeEnv{config.EnvAdminToken: "t", config.EnvAdminAddr: down}, down},
		{"project create without --name", []string{"project", "create"}, fakeEnv{config.EnvAdminToken: "t"}, "name"},
		{"serve with a positional argument", []string{"serve", "extra"}, nil, "extra"},
		{"project update --environment", []string{"project", "update", "prj_x", "--environment", "production"}, fakeEnv{config.EnvAdminToken: "t"},
			"environment is fixed at creation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr, tc.env.get)
			if code != 1 {
				t.Fatalf("run(%q) = %d, want 1", tc.args, code)
			}
			if !strings.HasPrefix(stderr.String(), "sdproxy: ") || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("run(%q) stderr = %q, want \"sdproxy: …\" mentioning %q", tc.args, stderr.String(), tc.want)
			}
		})
	}
}

func TestDecodeMasterKey(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	// A key whose standard base64 has '+' and '/', so std and url forms differ.
	special := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	short := key[:31]
	cases := []struct {
		name    string
		in      string
		want    []byte
		wantErr string
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), key, ""},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), key, ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), key, ""},
		{"url raw", base64.RawURLEncoding.EncodeToString(key), key, ""},
		{"std with + and /", base64.StdEncoding.EncodeToString(special), special, ""},
		{"url with - and _", base64.RawURLEncoding.EncodeToString(special), special, ""},
		{"surrounding whitespace", "  " + base64.StdEncoding.EncodeToString(key) + "\n", key, ""},
		{"31 bytes", base64.StdEncoding.EncodeToString(short), nil, "31 bytes, want 32"},
		{"31 bytes url raw", base64.RawURLEncoding.EncodeToString(short), nil, "31 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), nil, "33 bytes, want 32"},
		{"garbage", "this is not base64!", nil, "malformed master key"},
		{"hex", strings.Repeat("ab", 32), nil, "malformed master key"},
		{"empty", "", nil, "malformed master key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMasterKey([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("decodeMasterKey(%q) = %x, %v, want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("decodeMasterKey(%q) = %x, %v, want %x, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

// loadServeConfig parses args as the flags of `sdproxy serve` and runs
// loadConfig on them, as the serve command does.
func loadServeConfig(t *testing.T, args []string, env fakeEnv) (config.Config, error) {
	t.Helper()
	cmd := newServeCmd(env.get)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("ParseFlags(%q) = %v, want nil", args, err)
	}
	f := cmd.Flags()
	flags := config.Default()
	var err error
	get := func(name string, dst *string) {
		if err == nil {
			*dst, err = f.GetString(name)
		}
	}
	var configPath string
	get("config", &configPath)
	get("listen", &flags.Listen)
	get("admin-listen", &flags.AdminListen)
	get("data-dir", &flags.DataDir)
	get("log-level", &flags.Log.Level)
	get("log-format", &flags.Log.Format)
	if err == nil {
		flags.MaxBodyBytes, err = f.GetInt("max-body-bytes")
	}
	if err != nil {
		t.Fatalf("serve flags: %v", err)
	}
	return loadConfig(cmd, configPath, flags, env.get)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "sdproxy.yaml", `
listen: "127.0.0.1:1001"
admin_listen: "127.0.0.1:1002"
data_dir: /file/data
max_body_bytes: 1000
last_used_flush: 5s
default_max_active_keys: 7
log:
  level: warn
`)
	other := writeFile(t, dir, "other.yaml", "listen: \"127.0.0.1:4001\"\n")

	def := config.Default()
	fromFile := def
	fromFile.Listen, fromFile.AdminListen, fromFile.DataDir = "127.0.0.1:1001", "127.0.0.1:1002", "/file/data"
	fromFile.MaxBodyBytes, fromFile.LastUsedFlush, fromFile.DefaultMaxActiveKeys = 1000, 5*time.Second, 7
	fromFile.Log.Level = "warn"

	cases := []struct {
		name string
		args []string
		env  fakeEnv
		want func(c *config.Config)
	}{
		{"defaults", nil, nil, func(c *config.Config) { *c = def }},
		{"file over default", []string{"--config", file}, nil, func(c *config.Config) { *c = fromFile }},
		{"file named by env", nil, fakeEnv{config.EnvConfig: file}, func(c *config.Config) { *c = fromFile }},
		{"--config over SDPROXY_CONFIG", []string{"--config", other}, fakeEnv{config.EnvConfig: file}, func(c *config.Config) {
			*c = def
			c.Listen = "127.0.0.1:4001"
		}},
		{"env over file", []string{"--config", file}, fakeEnv{
			config.EnvListen: "127.0.0.1:2001", config.EnvAdminListen: "127.0.0.1:2002", config.EnvDataDir: "/env/data",
			config.EnvMaxBodyBytes: "2000", config.EnvLogLevel: "error", config.EnvLogFormat: "json",
		}, func(c *config.Config) {
			*c = fromFile
			c.Listen, c.AdminListen, c.DataDir, c.MaxBodyBytes = "127.0.0.1:2001", "127.0.0.1:2002", "/env/data", 2000
			c.Log = config.Log{Level: "error", Format: "json"}
		}},
		{"env over default", nil, fakeEnv{config.EnvDataDir: "/env/data"}, func(c *config.Config) {
			*c = def
			c.DataDir = "/env/data"
		}},
		{"flag over env over file", []string{
			"--config", file, "--listen", "127.0.0.1:3001", "--admin-listen", "127.0.0.1:3002", "--data-dir", "/flag/data",
			"--max-body-bytes", "3000", "--log-level", "debug", "--log-format", "text",
		}, fakeEnv{
			config.EnvListen: "127.0.0.1:2001", config.EnvAdminListen: "127.0.0.1:2002", config.EnvDataDir: "/env/data",
			config.EnvMaxBodyBytes: "2000", config.EnvLogLevel: "error", config.EnvLogFormat: "json",
		}, func(c *config.Config) {
			*c = fromFile
			c.Listen, c.AdminListen, c.DataDir, c.MaxBodyBytes = "127.0.0.1:3001", "127.0.0.1:3002", "/flag/data", 3000
			c.Log = config.Log{Level: "debug", Format: "text"}
		}},
		{"flag equal to the default still wins", []string{"--listen", def.Listen}, fakeEnv{config.EnvListen: "127.0.0.1:2001"}, func(c *config.Config) {
			*c = def
		}},
		{"one flag, the rest from env", []string{"--data-dir", "/flag/data"}, fakeEnv{config.EnvListen: "127.0.0.1:2001", config.EnvDataDir: "/env/data"}, func(c *config.Config) {
			*c = def
			c.Listen, c.DataDir = "127.0.0.1:2001", "/flag/data"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadServeConfig(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("loadConfig(%q, env %v) = %v, want nil", tc.args, tc.env, err)
			}
			var want config.Config
			tc.want(&want)
			if got != want {
				t.Errorf("loadConfig(%q, env %v) = %+v, want %+v", tc.args, tc.env, got, want)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := writeFile(t, dir, "unknown.yaml", "listen: \":9000\"\nlisten_adress: \":9001\"\n")
	nestedUnknown := writeFile(t, dir, "nested.yaml", "log:\n  level: info\n  colour: true\n")
	badValue := writeFile(t, dir, "bad.yaml", "log:\n  level: loud\nmax_body_bytes: -1\n")
	badYAML := writeFile(t, dir, "broken.yaml", "listen: [\n")
	cases := []struct {
		name string
		args []string
		env  fakeEnv
		want []string // every one in the error
	}{
		{"unknown key", []string{"--config", unknown}, nil, []string{"listen_adress"}},
		{"unknown nested key", []string{"--config", nestedUnknown}, nil, []string{"colour"}},
		{"unknown key via env", nil, fakeEnv{config.EnvConfig: unknown}, []string{"listen_adress"}},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, []string{"nope.yaml"}},
		{"broken YAML", []string{"--config", badYAML}, nil, []string{"broken.yaml"}},
		{"invalid values, all reported", []string{"--config", badValue}, nil, []string{"log.level", "max_body_bytes"}},
		{"bad env number", nil, fakeEnv{config.EnvMaxBodyBytes: "lots"}, []string{config.EnvMaxBodyBytes}},
		{"bad flag value", []string{"--log-format", "xml"}, nil, []string{"log.format"}},
		{"empty listen from file", []string{"--config", writeFile(t, dir, "empty.yaml", "listen: \"\"\n")}, nil, []string{"listen"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadServeConfig(t, tc.args, tc.env)
			if err == nil {
				t.Fatalf("loadConfig(%q, env %v) = nil, want an error mentioning %q", tc.args, tc.env, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig(%q, env %v) = %v, want it to mention %q", tc.args, tc.env, err, w)
				}
			}
		})
	}
}

// The example config in testdata documents every key with its default.
func TestLoadConfigExampleIsDefault(t *testing.T) {
	got, err := loadServeConfig(t, []string{"--config", filepath.Join("..", "..", "testdata", "sdproxy.example.yaml")}, nil)
	if err != nil {
		t.Fatalf("loadConfig(example) = %v, want nil", err)
	}
	if want := config.Default(); got != want {
		t.Errorf("loadConfig(example) = %+v, want the defaults %+v", got, want)
	}
}

// ... and names every key the config file takes (set, or commented out
// where the default is empty).
func TestConfigExampleNamesEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdproxy.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys = append(keys, name)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[config.Config]())
	if len(keys) < 30 {
		t.Fatalf("found %d yaml keys in config.Config, want the whole struct walked", len(keys))
	}
	for _, k := range keys {
		if !regexp.MustCompile(`(?m)^[ #]*` + regexp.QuoteMeta(k) + `:`).Match(b) {
			t.Errorf("testdata/sdproxy.example.yaml does not name the key %q", k)
		}
	}
}

func TestRedactQuoted(t *testing.T) {
	in := `error when serving connection "127.0.0.1:1"<->"127.0.0.1:2": invalid header value "\x01s3cret \"q\" qk_abc": buffer size=159, contents: "POST / HTTP/1.1\r\nX: qk_abc"`
	got := redactQuoted(in)
	for _, leak := range []string{"s3cret", "qk_abc", "POST"} {
		if strings.Contains(got, leak) {
			t.Errorf("redactQuoted(...) = %q, still holds %q", got, leak)
		}
	}
	if !strings.Contains(got, "invalid header value") {
		t.Errorf("redactQuoted(...) = %q, want the kind of error kept", got)
	}
}
