package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestE2ECluster runs three `sdproxy serve` processes (A, B, C) on a
// three-member etcd cluster, on loopback, and checks what issue 14 asks
// of them: a key revoked on one instance is refused by the others within
// a second under load (measured), the cap of active keys holds across
// instances, and the instances ride out an etcd member's death and a lost
// quorum without a restart. The figures are logged (go test -v); only
// correctness is asserted, never a timing.
func TestE2ECluster(t *testing.T) {
	c := startCluster(t, 3, "2s")
	project := c.createProject(t, 0, "cluster")
	live, _, status, body, err := c.createKey(0, project)
	if err != nil || status != 201 {
		t.Fatalf("create the load key = %d %s %v", status, body, err)
	}
	for _, i := range []int{1, 2} {
		if err := c.waitAccepted(i, live, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("revoke propagation", func(t *testing.T) { testRevokePropagation(t, c, project, live) })
	t.Run("key cap", func(t *testing.T) { testClusterKeyCap(t, c) })
	t.Run("etcd faults", func(t *testing.T) { testClusterEtcdFaults(t, c, live) })
}

// testRevokePropagation: revokeTrials trials (fewer under the race
// detector, whose test process sends the load more slowly) under about
// 500 requests/s spread over A and C. Each makes a key on A, waits until
// B and C accept it, probes A and C with it in a tight loop, revokes it
// on B and takes, for A and C, the time from B's answer until the first
// refusal came back. Asserted: no request sent more than a second after a
// revoke's answer is accepted, whether by the probes or by the load
// (which sends one request in four with such a key).
func testRevokePropagation(t *testing.T, c *cluster, project, live string) {
	load := startBackground(c, live, 500)
	var props []time.Duration
	late, within := 0, 0
	for range revokeTrials {
		tr, err := c.revokeTrial(project)
		if err != nil {
			load.halt()
			t.Fatalf("trial %d: %v", len(props)/2+1, err)
		}
		props = append(props, tr.propagation[:]...)
		late += tr.late
		within += tr.within
		load.addRevoked(tr.key)
	}
	time.Sleep(1100 * time.Millisecond) // the load tries the last keys too
	rate := load.halt()
	slices.Sort(props)
	t.Logf("revoke on B, refused on A and C, %d trials under %.0f req/s: p50 %s, p99 %s, max %s (from B's answer to the first refusal received)",
		revokeTrials, rate, percentile(props, 50).Round(10*time.Microsecond), percentile(props, 99).Round(10*time.Microsecond), props[len(props)-1].Round(10*time.Microsecond))
	t.Logf("accepted after the answer: %d within the propagation, %d more than 1s after (of the probes); load: %d requests with a key revoked over 1s before, %d accepted; %d of the load key's requests failed",
		within, late, load.oldSent.Load(), load.oldAccepted.Load(), load.liveFailed.Load())
	if late != 0 || load.oldAccepted.Load() != 0 {
		t.Errorf("requests accepted more than 1s after a revoke's answer = %d (probes) + %d (load), want 0", late, load.oldAccepted.Load())
	}
	if load.oldSent.Load() == 0 {
		t.Errorf("the load sent no request with a revoked key; want some")
	}
	if n := load.liveFailed.Load(); n != 0 {
		t.Errorf("load requests with the active key that failed = %d, want 0", n)
	}
}

// testClusterKeyCap: 50 concurrent creates spread over A, B and C leave
// exactly 10 active keys (the cap); the other 40 get 409
// key_limit_reached.
func testClusterKeyCap(t *testing.T, c *cluster) {
	project := c.createProject(t, 1, "cap")
	var created, limited atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range 50 {
		wg.Go(func() {
			_, _, status, body, err := c.createKey(i%3, project)
			switch {
			case err == nil && status == 201:
				created.Add(1)
			case err == nil && status == 409 && errorCode(body) == "key_limit_reached":
				limited.Add(1)
			default:
				t.Errorf("create a key on %s = %d %s %v, want 201 or 409 key_limit_reached", instanceName(i%3), status, body, err)
			}
		})
	}
	wg.Wait()
	t.Logf("50 concurrent creates over 3 instances: %d created, %d refused in %s", created.Load(), limited.Load(), time.Since(start).Round(time.Millisecond))
	if created.Load() != 10 || limited.Load() != 40 {
		t.Errorf("50 concurrent creates = %d created, %d key_limit_reached, want 10 and 40", created.Load(), limited.Load())
	}
	for i := range 3 {
		status, body, err := c.adminDo(i, "GET", "/admin/v1/projects/"+project+"/keys", "")
		var page struct{ Items []struct{ Status string } }
		if err == nil {
			err = json.Unmarshal(body, &page)
		}
		active := 0
		for _, k := range page.Items {
			if k.Status == "active" {
				active++
			}
		}
		if err != nil || status != 200 || active != 10 {
			t.Errorf("list keys on %s = %d, %d active, %v, want 200 and 10 active", instanceName(i), status, active, err)
		}
	}
}

// testClusterEtcdFaults, on the three etcd members:
//   - a follower killed, then (once it is back) the leader: data-plane
//     requests all succeed, and so does the admin write sent to each
//     instance right after the kill (a commit lost with the member, or
//     dropped by the dead leader, is settled and run again: see
//     keystore/kv_etcd_commit.go);
//   - a second member killed (no quorum): admin writes answer 503
//     store_unavailable, /readyz 503, and the data plane serves from the
//     cache until max_staleness (2s) has passed since the last contact,
//     then answers 503 store_unavailable;
//   - a member back (quorum again): every instance serves and takes
//     writes again, without a restart.
func testClusterEtcdFaults(t *testing.T, c *cluster, live string) {
	leader := c.etcdLeader(t)
	follower := (leader + 1) % 3
	for _, kill := range []struct {
		what   string
		member int
	}{{"follower", follower}, {"leader", leader}} {
		load := c.steadyLoad(live)
		c.etcd.Members[kill.member].Stop()
		killed := time.Now()
		writes := c.writesAfter(t, "etcd's "+kill.what+" killed")
		time.Sleep(time.Until(killed.Add(time.Second)))
		sent, failed := load()
		t.Logf("etcd %s killed: %d data-plane requests in %s, %d failed; admin writes: %s", kill.what, sent, time.Since(killed).Round(time.Millisecond), failed, writes)
		if failed != 0 {
			t.Errorf("data-plane requests failed with etcd's %s killed = %d of %d, want 0", kill.what, failed, sent)
		}
		if kill.member == follower {
			c.etcd.Members[follower].Restart(20 * time.Second)
		}
	}

	second := follower // back since; with the leader down it leaves one member of three
	c.etcd.Members[second].Stop()
	lost := time.Now()
	served := c.serveUntilUnavailable(t, 0, live)
	t.Logf("quorum lost: A served from its cache for %s, then answered 503 store_unavailable (max_staleness 2s)", served.Round(time.Millisecond))
	if served < 500*time.Millisecond {
		t.Errorf("A served for %s after quorum was lost, want it to go on serving from its cache (max_staleness 2s)", served)
	}
	for i := range 3 {
		c.waitFor(t, instanceName(i)+"'s data plane without quorum", 15*time.Second, func() bool { s, _ := c.encrypt(i, live); return s == 503 })
		c.waitFor(t, instanceName(i)+"'s /readyz without quorum", 15*time.Second, func() bool { return c.readyz(i) == 503 })
	}
	t.Logf("quorum lost: every instance unready and refusing within %s", time.Since(lost).Round(time.Millisecond))
	var took []string
	from := time.Since(lost)
	for range 2 {
		start := time.Now()
		status, body, err := c.adminDo(1, "POST", "/admin/v1/projects", `{"name":"without quorum"}`)
		took = append(took, time.Since(start).Round(time.Millisecond).String())
		if err != nil || status != 503 || errorCode(body) != "store_unavailable" {
			t.Errorf("create a project on B without quorum = %d %s %v, want 503 store_unavailable", status, body, err)
		}
	}
	t.Logf("quorum lost: two projects created on B one after the other (from +%s) answered 503 store_unavailable in %s", from.Round(time.Millisecond), strings.Join(took, " and "))

	c.etcd.Members[second].Restart(20 * time.Second)
	back := time.Now()
	for i := range 3 {
		c.waitFor(t, instanceName(i)+"'s data plane with quorum back", 20*time.Second, func() bool { s, _ := c.encrypt(i, live); return s == 200 })
		c.waitFor(t, instanceName(i)+"'s /readyz with quorum back", 20*time.Second, func() bool { return c.readyz(i) == 200 })
		c.waitFor(t, "a project created on "+instanceName(i)+" with quorum back", 20*time.Second, func() bool {
			s, _, _ := c.adminDo(i, "POST", "/admin/v1/projects", `{"name":"quorum back"}`)
			return s == 201
		})
	}
	t.Logf("quorum back: every instance ready, serving and taking writes %s after the member restarted", time.Since(back).Round(time.Millisecond))
	for i, p := range c.procs {
		if p.Exited() {
			t.Errorf("instance %s exited during the etcd faults, want it running throughout", instanceName(i))
		}
	}
}

// steadyLoad sends data-plane requests with key to A, B and C in turn,
// every few milliseconds, until the function it returns is called, which
// says how many were sent and how many failed.
func (c *cluster) steadyLoad(key string) func() (sent, failed int) {
	stop, done := make(chan struct{}), make(chan struct{})
	var sent, failed int
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			status, err := c.encrypt(n%3, key)
			sent++
			if err != nil || status != 200 {
				failed++
			}
		}
	}()
	return func() (int, int) { // sent and failed are read once done is closed
		close(stop)
		<-done
		return sent, failed
	}
}

// writesAfter creates a project on A, B and C at once; each must be
// created. It says how long each took.
func (c *cluster) writesAfter(t *testing.T, what string) string {
	var wg sync.WaitGroup
	out := make([]string, 3)
	for i := range 3 {
		wg.Go(func() {
			start := time.Now()
			status, body, err := c.adminDo(i, "POST", "/admin/v1/projects", fmt.Sprintf(`{"name":%q}`, what))
			took := time.Since(start).Round(time.Millisecond)
			if err != nil || status != 201 {
				t.Errorf("create a project on %s with %s = %d %s %v after %s, want 201", instanceName(i), what, status, body, err, took)
			}
			out[i] = fmt.Sprintf("%s %d in %s", instanceName(i), status, took)
		})
	}
	wg.Wait()
	return strings.Join(out, ", ")
}

// serveUntilUnavailable sends requests to instance i every 10 ms until one
// is answered 503 store_unavailable, and returns how long it was served
// before. Anything else than 200 before that fails the test.
func (c *cluster) serveUntilUnavailable(t *testing.T, i int, key string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		sent := time.Now()
		status, code, err := c.encryptCode(i, key)
		switch {
		case err == nil && status == 503 && code == "store_unavailable":
			return sent.Sub(start)
		case err != nil || status != 200:
			t.Fatalf("encrypt on %s without quorum = %d %s %v, want 200 until 503 store_unavailable", instanceName(i), status, code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("encrypt on %s without quorum: still served after 20s, want 503 store_unavailable after max_staleness", instanceName(i))
	return 0
}

func (c *cluster) encryptCode(i int, key string) (int, string, error) {
	req, err := http.NewRequest("POST", "http://"+c.data[i]+"/api-v1/v1/encrypt", strings.NewReader(`{"data":"x"}`))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Qanapi-Authorization", key)
	status, body, err := c.do(req)
	return status, errorCode(body), err
}

func (c *cluster) readyz(i int) int {
	status, _, _ := c.adminDo(i, "GET", "/readyz", "")
	return status
}

// waitFor polls cond until it holds, failing the test after within.
func (c *cluster) waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// etcdLeader is the index of the etcd member that leads the cluster.
func (c *cluster) etcdLeader(t *testing.T) int {
	t.Helper()
	for i, m := range c.etcd.Members {
		resp, err := c.http.Post(m.ClientURL+"/v3/maintenance/status", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("etcd status of %s: %v", m.Name, err)
		}
		var st struct {
			Header struct {
				MemberID string `json:"member_id"`
			}
			Leader string
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("etcd status of %s: %v", m.Name, err)
		}
		if st.Header.MemberID == st.Leader {
			return i
		}
	}
	t.Fatal("no etcd member says it leads")
	return 0
}
