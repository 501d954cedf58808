package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// TestE2EEtcdTwoInstances: two `sdproxy serve` on one etcd share
// projects and keys; with etcd stopped, admin writes answer 503
// store_unavailable, /readyz turns unready, and once the
// staleness window has passed the data plane answers 503 too; when etcd
// is back both serve again without a restart.
func TestE2EEtcdTwoInstances(t *testing.T) {
	etcd := etcdtest.Start(t)
	master, token := e2e.NewMasterKey(t), e2e.NewAdminToken(t)
	start := func() (*e2e.Proc, map[string]string) {
		env := serveEnv(t, t.TempDir(), master)
		env[config.EnvAdminToken] = token
		env[config.EnvStoreBackend] = config.BackendEtcd
		env[config.EnvEtcdEndpoints] = strings.Join(etcd.Endpoints(), ",")
		env[config.EnvEtcdMaxStaleness] = "1s"
		return e2e.Start(t, env), env
	}
	a, envA := start()
	b, envB := start()
	clA := map[string]string{config.EnvAdminAddr: "http://" + a.AdminAddr, config.EnvAdminToken: token}
	clB := map[string]string{config.EnvAdminAddr: "http://" + b.AdminAddr, config.EnvAdminToken: token}
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, clA, "project", "create", "--name", "Shared", "-o", "json")), &p)
	key := strings.TrimSpace(cli(t, clA, "key", "create", "--project", p.ID, "-q"))
	encrypt := func(env map[string]string) int {
		status, _ := post(t, "http://"+env[config.EnvListen]+"/api-v1/v1/encrypt", `{"data":"x"}`, "X-Qanapi-Authorization", key)
		return status
	}
	waitStatus(t, "a key made on A, used on B", func() int { return encrypt(envB) }, 200)

	cli(t, clB, "key", "revoke", "--project", p.ID, key[:strings.LastIndexByte(key, '_')])
	waitStatus(t, "the key revoked on B, used on A", func() int { return encrypt(envA) }, 401)
	key2 := strings.TrimSpace(cli(t, clB, "key", "create", "--project", p.ID, "-q"))
	key = key2
	waitStatus(t, "a second key made on B, used on A", func() int { return encrypt(envA) }, 200)

	etcd.Members[0].Stop()
	waitStatus(t, "A's /readyz with etcd stopped", func() int { return etcdAdminStatus(t, a.AdminAddr, token, "/readyz") }, 503)
	status, body := etcdAdminPost(t, a.AdminAddr, token, "/admin/v1/projects", `{"name":"during"}`)
	if status != 503 || !strings.Contains(body, `"store_unavailable"`) {
		t.Errorf("POST /admin/v1/projects with etcd stopped = %d %s, want 503 store_unavailable", status, body)
	}
	waitStatus(t, "A's data plane after the staleness window", func() int { return encrypt(envA) }, 503)
	waitStatus(t, "B's data plane after the staleness window", func() int { return encrypt(envB) }, 503)

	etcd.Members[0].Restart(20 * time.Second)
	for _, env := range []map[string]string{envA, envB} {
		waitStatus(t, "the data plane with etcd back", func() int { return encrypt(env) }, 200)
	}
	waitStatus(t, "A's /readyz with etcd back", func() int { return etcdAdminStatus(t, a.AdminAddr, token, "/readyz") }, 200)
	if status, body := etcdAdminPost(t, b.AdminAddr, token, "/admin/v1/projects", `{"name":"after"}`); status != 201 {
		t.Errorf("POST /admin/v1/projects with etcd back = %d %s, want 201", status, body)
	}
}

// waitStatus polls get until it answers want, failing after 20 s.
func waitStatus(t *testing.T, what string, get func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := get()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d within 20s", what, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func etcdAdminStatus(t *testing.T, addr, token, path string) int {
	status, _ := etcdAdminDo(t, "GET", addr, token, path, "")
	return status
}

func etcdAdminPost(t *testing.T, addr, token, path, body string) (int, string) {
	return etcdAdminDo(t, "POST", addr, token, path, body)
}

func etcdAdminDo(t *testing.T, method, addr, token, path, body string) (int, string) {
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", method, path, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
