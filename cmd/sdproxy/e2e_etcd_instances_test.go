package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// etcdInstance is one `sdproxy serve` on a shared etcd, with its
// environment and a CLI environment aimed at it.
type etcdInstance struct {
	proc *e2e.Proc
	env  map[string]string
	cl   map[string]string
}

// startEtcdInstance starts `sdproxy serve` on etcd with the shared master
// key and admin token, in dataDir.
func startEtcdInstance(t *testing.T, etcd *etcdtest.Cluster, master, token, dataDir string) *etcdInstance {
	t.Helper()
	env := serveEnv(t, dataDir, master)
	env[config.EnvAdminToken] = token
	env[config.EnvStoreBackend] = config.BackendEtcd
	env[config.EnvEtcdEndpoints] = strings.Join(etcd.Endpoints(), ",")
	p := e2e.Start(t, env)
	return &etcdInstance{proc: p, env: env, cl: map[string]string{config.EnvAdminAddr: "http://" + p.AdminAddr, config.EnvAdminToken: token}}
}

func listInstances(t *testing.T, cl map[string]string) []wire.Instance {
	t.Helper()
	var list []wire.Instance
	out := cli(t, cl, "instances", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("sdproxy instances -o json = %q: %v", out, err)
	}
	return list
}

func instanceIDs(list []wire.Instance) string {
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	return strings.Join(ids, ",")
}

// TestE2EEtcdInstances: every instance registers (id kept in its data
// directory across restarts, advertised admin URL, version); `sdproxy
// instances` lists the live ones; one stopped disappears; a key's rate
// limit is split between the live instances and grows back when one
// leaves.
func TestE2EEtcdInstances(t *testing.T) {
	etcd := etcdtest.Start(t)
	master, token := e2e.NewMasterKey(t), e2e.NewAdminToken(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startEtcdInstance(t, etcd, master, token, dirA)
	b := startEtcdInstance(t, etcd, master, token, dirB)
	idOf := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "instance.id"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	idA, idB := idOf(dirA), idOf(dirB)
	both := strings.Join(sortedPair(idA, idB), ",")
	waitStatus(t, "both instances listed by A", func() int {
		if instanceIDs(listInstances(t, a.cl)) == both {
			return 1
		}
		return 0
	}, 1)
	for _, in := range listInstances(t, a.cl) {
		inst := map[string]*etcdInstance{idA: a, idB: b}[in.ID]
		if in.AdminAddress != "http://"+inst.proc.AdminAddr || in.DataAddress != inst.env[config.EnvListen] || in.Version == "" || in.Started.IsZero() || in.Self != (in.ID == idA) {
			t.Errorf("instance %s = %+v, want admin http://%s, data %s, a version, a start time, self %v", in.ID, in, inst.proc.AdminAddr, inst.env[config.EnvListen], in.ID == idA)
		}
	}
	table := cli(t, a.cl, "instances")
	if !strings.Contains(table, "INSTANCE") || !strings.Contains(table, idB) {
		t.Errorf("sdproxy instances = %q, want a table naming %s", table, idB)
	}

	// A project limited to 4/s, burst 4: each of two instances allows 2.
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, a.cl, "project", "create", "--name", "Limited", "--rps", "4", "--burst", "4", "-o", "json")), &p)
	key := strings.TrimSpace(cli(t, a.cl, "key", "create", "--project", p.ID, "-q"))
	limitOn := func(inst *etcdInstance) int {
		resp := encryptOn(t, inst, key)
		n, _ := strconv.Atoi(resp.Header.Get("RateLimit-Limit"))
		return n
	}
	waitStatus(t, "A's share of a burst of 4 with two instances", func() int { return limitOn(a) }, 2)
	waitStatus(t, "B's share of a burst of 4 with two instances", func() int { return limitOn(b) }, 2)

	b.proc.Stop(t) // leaves at once: its lease is revoked
	waitStatus(t, "A alone after B stopped", func() int { return len(listInstances(t, a.cl)) }, 1)
	waitStatus(t, "A's share with B gone", func() int { return limitOn(a) }, 4)

	b = startEtcdInstance(t, etcd, master, token, dirB)
	if got := idOf(dirB); got != idB {
		t.Errorf("instance id after a restart = %s, want %s (kept in the data directory)", got, idB)
	}
	waitStatus(t, "B back under its id", func() int {
		if instanceIDs(listInstances(t, b.cl)) == both {
			return 1
		}
		return 0
	}, 1)
}

func sortedPair(x, y string) []string {
	if y < x {
		return []string{y, x}
	}
	return []string{x, y}
}

// encryptOn sends one direct encrypt to inst's data listener.
func encryptOn(t *testing.T, inst *etcdInstance, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+inst.env[config.EnvListen]+"/api-v1/v1/encrypt", strings.NewReader(`{"data":"x"}`))
	req.Header.Set("X-Qanapi-Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestE2EInstancesBbolt: on bbolt the list is the instance asked, and
// verify --all verifies its chain.
func TestE2EInstancesBbolt(t *testing.T) {
	env := serveEnv(t, t.TempDir(), "")
	p := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + p.AdminAddr, config.EnvDataDir: env[config.EnvDataDir]}
	list := listInstances(t, cl)
	if len(list) != 1 || !list[0].Self || list[0].AdminAddress != "http://"+p.AdminAddr {
		t.Errorf("sdproxy instances on bbolt = %+v, want this instance alone", list)
	}
	if out := cli(t, cl, "events", "verify", "--all"); !strings.HasPrefix(out, list[0].ID+": intact,") {
		t.Errorf("sdproxy events verify --all on bbolt = %q, want this instance's chain intact", out)
	}
}

// TestE2EEtcdStopWhileWaitingForOldRegistration: an instance restarted
// after a crash waits for its previous run's registration to expire,
// and says so; a SIGHUP during that wait does not kill it, and SIGTERM
// stops it at once and cleanly
// (exit status 0, its event log closed), as it would once serving,
// rather than after the wait or killed by the signal.
func TestE2EEtcdStopWhileWaitingForOldRegistration(t *testing.T) {
	etcd := etcdtest.Start(t)
	master, token, dir := e2e.NewMasterKey(t), e2e.NewAdminToken(t), t.TempDir()
	a := startEtcdInstance(t, etcd, master, token, dir)
	a.proc.Kill() // its registration stays until the lease's TTL (10s) runs out

	env := serveEnv(t, dir, master)
	env[config.EnvAdminToken] = token
	env[config.EnvStoreBackend] = config.BackendEtcd
	env[config.EnvEtcdEndpoints] = strings.Join(etcd.Endpoints(), ",")
	p := e2e.Launch(t, env, nil)
	waitStatus(t, "the restart says it waits for the old registration", func() int {
		if strings.Contains(p.Log(t), "waiting for that registration to expire") {
			return 1
		}
		if p.Exited() {
			t.Fatalf("the restart exited before waiting: %v\n%s", p.ExitErr(), p.Log(t))
		}
		return 0
	}, 1)
	// A SIGHUP first (a certificate or sink rotation that came at the
	// wrong moment): it must not kill the process, whose default action
	// for it that is, nor stop the start.
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.WaitExit(e2e.StopDeadline) {
		t.Fatalf("still starting %s after SIGTERM", e2e.StopDeadline)
	}
	if err := p.ExitErr(); err != nil {
		t.Fatalf("after SIGTERM while starting: %v, want exit status 0\n%s", err, p.Log(t))
	}
	if log := p.Log(t); !strings.Contains(log, "stopped while starting") {
		t.Errorf("the log does not say it stopped while starting:\n%s", log)
	}
	// Its event log was closed: verify opens it (it would wait for the
	// file's lock otherwise) and finds it intact.
	out, errOut, code := e2e.Run(t, time.Minute, map[string]string{config.EnvDataDir: dir, config.EnvMasterKey: master}, "events", "verify")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("events verify after the stop = %d %q %q", code, out, errOut)
	}
}
