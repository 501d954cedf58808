package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// cluster is three `sdproxy serve` processes (A, B, C) on one etcd
// cluster, with one admin token, and an HTTP client that keeps its
// connections. Its methods return errors rather than fail the test, so
// that load goroutines may call them.
type cluster struct {
	etcd  *etcdtest.Cluster
	procs []*e2e.Proc
	data  []string // data listener addresses, by instance
	admin []string // admin listener addresses, by instance
	token string
	http  *http.Client
}

// clusterConfig turns off the per-IP bucket of failed authentications:
// the tests send many refused requests from one address on purpose, and
// must tell a refused key (401) from a throttled client (429).
const clusterConfig = "limits:\n  auth_failures:\n    per_second: 0\n"

// startCluster starts an etcd cluster of members and three instances on
// it whose staleness limit is maxStaleness.
func startCluster(t *testing.T, members int, maxStaleness string) *cluster {
	t.Helper()
	c := &cluster{
		etcd:  etcdtest.StartCluster(t, members),
		token: e2e.NewAdminToken(t),
		http: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute,
		}},
	}
	t.Cleanup(c.http.CloseIdleConnections)
	cfgPath := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(clusterConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	master := e2e.NewMasterKey(t)
	for range 3 {
		env := serveEnv(t, t.TempDir(), master)
		env[config.EnvLogLevel] = "info"
		env[config.EnvConfig] = cfgPath
		env[config.EnvAdminToken] = c.token
		env[config.EnvStoreBackend] = config.BackendEtcd
		env[config.EnvEtcdEndpoints] = strings.Join(c.etcd.Endpoints(), ",")
		env[config.EnvEtcdMaxStaleness] = maxStaleness
		c.procs = append(c.procs, e2e.Start(t, env))
		c.data = append(c.data, env[config.EnvListen])
		c.admin = append(c.admin, env[config.EnvAdminListen])
	}
	return c
}

// adminDo sends an admin API request to instance i and returns the status
// and body.
func (c *cluster) adminDo(i int, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, "http://"+c.admin[i]+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func (c *cluster) do(req *http.Request) (int, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// encrypt sends one direct-API encrypt with key to instance i.
func (c *cluster) encrypt(i int, key string) (int, error) {
	req, err := http.NewRequest("POST", "http://"+c.data[i]+"/api-v1/v1/encrypt", strings.NewReader(`{"data":"x"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Qanapi-Authorization", key)
	status, _, err := c.do(req)
	return status, err
}

// createProject creates a project through instance i, with a rate limit
// far above what the tests send.
func (c *cluster) createProject(t *testing.T, i int, name string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"rate_limit":{"requests_per_second":100000,"burst":100000}}`, name)
	status, b, err := c.adminDo(i, "POST", "/admin/v1/projects", body)
	if err != nil || status != 201 {
		t.Fatalf("POST /admin/v1/projects on %s = %d %s %v, want 201", instanceName(i), status, b, err)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// createKey creates a key in project through instance i and returns its
// secret and id; status is the answer's when it is not 201.
func (c *cluster) createKey(i int, project string) (secret, id string, status int, body []byte, err error) {
	status, body, err = c.adminDo(i, "POST", "/admin/v1/projects/"+project+"/keys", `{}`)
	if err != nil || status != 201 {
		return "", "", status, body, err
	}
	var k struct{ ID, Key string }
	err = json.Unmarshal(body, &k)
	return k.Key, k.ID, status, body, err
}

// waitAccepted polls instance i until it accepts key.
func (c *cluster) waitAccepted(i int, key string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		status, err := c.encrypt(i, key)
		if err == nil && status == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s: encrypt with a new key = %d %v after %s, want 200", instanceName(i), status, err, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// errorCode is the error code of an error answer's body.
func errorCode(body []byte) string {
	var e struct{ Error struct{ Code string } }
	json.Unmarshal(body, &e)
	return e.Error.Code
}

func instanceName(i int) string { return string(rune('A' + i)) }
