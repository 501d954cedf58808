package main

import (
	"crypto/tls"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// TestE2EEtcdEventsMergedOverAdminTLS: instances whose admin listeners
// use TLS from a private CA and require client certificates still merge
// each other's event logs: they call each other as the CLI does, with
// SDPROXY_ADMIN_CA_FILE and the client certificate.
func TestE2EEtcdEventsMergedOverAdminTLS(t *testing.T) {
	etcd := etcdtest.Start(t)
	ca, dir := newTestCA(t), t.TempDir()
	master, token := e2e.NewMasterKey(t), e2e.NewAdminToken(t)
	clientCert, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	client := ca.Issue(t, "operator", clientCert, clientKey)
	cliEnv := func(p *e2e.Proc) map[string]string {
		return map[string]string{config.EnvAdminAddr: p.AdminURL, config.EnvAdminToken: token,
			config.EnvAdminCAFile: ca.File, config.EnvAdminClientCertFile: clientCert, config.EnvAdminClientKeyFile: clientKey}
	}
	var procs []*e2e.Proc
	for _, name := range []string{"a", "b"} {
		cert, key := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		ca.Issue(t, "admin "+name, cert, key)
		env := serveEnv(t, t.TempDir(), master)
		for k, v := range map[string]string{
			config.EnvAdminToken: token, config.EnvStoreBackend: config.BackendEtcd,
			config.EnvEtcdEndpoints:    strings.Join(etcd.Endpoints(), ","),
			config.EnvAdminTLSCertFile: cert, config.EnvAdminTLSKeyFile: key, config.EnvAdminTLSClientCAFile: ca.File,
			// to call the other instance's admin API
			config.EnvAdminCAFile: ca.File, config.EnvAdminClientCertFile: clientCert, config.EnvAdminClientKeyFile: clientKey,
		} {
			env[k] = v
		}
		procs = append(procs, e2e.StartTLS(t, env, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client}}))
	}
	a, b := cliEnv(procs[0]), cliEnv(procs[1])
	waitStatus(t, "two instances listed", func() int { return len(listInstances(t, a)) }, 2)
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, a, "project", "create", "--name", "Merged over TLS", "-o", "json")), &p)
	cli(t, b, "key", "create", "--project", p.ID, "-q") // key.created in B's log
	instances := func() int {
		var page wire.Page[wire.Event]
		if err := json.Unmarshal([]byte(cli(t, a, "events", "--project", p.ID, "-o", "json")), &page); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range page.Items {
			seen[e.InstanceID] = true
		}
		return len(seen)
	}
	waitStatus(t, "the events of both instances in A's merged list", instances, 2)
}
