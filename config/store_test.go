package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStoreFromEnv(t *testing.T) {
	env := map[string]string{
		EnvStoreBackend: "etcd", EnvEtcdEndpoints: "https://10.0.0.1:2379, 10.0.0.2:2379", EnvEtcdPrefix: "/team/",
		EnvEtcdCAFile: "ca.pem", EnvEtcdCertFile: "c.pem", EnvEtcdKeyFile: "k.pem", EnvEtcdUsername: "sdproxy",
		EnvEtcdPasswordFile: "pw", EnvEtcdMaxStaleness: "30s",
	}
	c := Default()
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := Store{Backend: "etcd", Etcd: Etcd{
		Endpoints: "https://10.0.0.1:2379, 10.0.0.2:2379", Prefix: "/team/", CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem",
		Username: "sdproxy", PasswordFile: "pw", MaxStaleness: 30 * time.Second,
	}}
	if c.Store != want {
		t.Errorf("ApplyEnv(store settings) = %+v, want %+v", c.Store, want)
	}
	if got := c.Store.Etcd.Endpoints.Items(); !slices.Equal(got, []string{"https://10.0.0.1:2379", "10.0.0.2:2379"}) {
		t.Errorf("Endpoints.Items() = %q", got)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	env[EnvEtcdMaxStaleness] = "a while"
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvEtcdMaxStaleness) {
		t.Errorf("ApplyEnv(%s=a while) = %v, want an error naming it", EnvEtcdMaxStaleness, err)
	}
}

func TestStoreValidation(t *testing.T) {
	cases := []struct {
		name string
		set  func(*Store)
		want string
	}{
		{"unknown backend", func(s *Store) { s.Backend = "redis" }, "store.backend must be bbolt or etcd"},
		{"no endpoints", func(s *Store) { s.Backend = "etcd" }, "store.etcd.endpoints must name at least one"},
		{"bad scheme", func(s *Store) { s.Backend, s.Etcd.Endpoints = "etcd", "ftp://a:1" }, `"ftp://a:1" must be http://`},
		{"no port", func(s *Store) { s.Backend, s.Etcd.Endpoints = "etcd", "etcd.internal" }, "must name a host and a port"},
		{"prefix", func(s *Store) { s.Backend, s.Etcd.Endpoints, s.Etcd.Prefix = "etcd", "a:1", "sdproxy" }, "store.etcd.prefix must start and end with /"},
		{"half a certificate", func(s *Store) { s.Backend, s.Etcd.Endpoints, s.Etcd.CertFile = "etcd", "a:1", "c.pem" }, "cert_file and store.etcd.key_file go together"},
		{"staleness", func(s *Store) { s.Backend, s.Etcd.Endpoints, s.Etcd.MaxStaleness = "etcd", "a:1", 0 }, "max_staleness must be at least 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c.Store)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want it to say %q", err, tc.want)
			}
		})
	}
	c := Default()
	c.Store.Etcd.Prefix = "bad" // the etcd settings do not matter on bbolt
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(bbolt with a bad etcd prefix) = %v, want nil", err)
	}
}

func TestStoreEndpointsAsYAMLList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("store:\n  backend: etcd\n  etcd:\n    endpoints: [\"http://a:2379\", \"http://b:2379\"]\n"), 0o600)
	c := Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.Store.Etcd.Endpoints != "http://a:2379,http://b:2379" || c.Store.Etcd.Prefix != "/sdproxy/" {
		t.Errorf("LoadFile(endpoints as a list) = %+v", c.Store.Etcd)
	}
}
