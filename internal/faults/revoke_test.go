//go:build faults

package faults

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const revokeTrials = 100

// revoked is a key whose revoke was answered at answered.
type revoked struct {
	secret   string
	answered time.Time
}

// TestRevokeUnderLoad: one serve takes about 500 requests a second; in
// each of revokeTrials trials a fresh key is probed in a tight loop while
// it is revoked. No request sent after the revoke's answer may be
// accepted, whether a probe or a load request (one in four of the load's
// requests uses a key revoked in an earlier trial). The cluster half of
// the line (3 instances on etcd, accepted within answer + 1 s) is
// TestE2ECluster in cmd/sdproxy, which `make faults` runs too.
func TestRevokeUnderLoad(t *testing.T) {
	n := startNode(t, baseConfig+"limits:\n  auth_failures:\n    per_second: 0\n")
	project := n.createProject(t, "")
	live := n.createKey(t, project).Key
	base := "/admin/v1/projects/" + project + "/keys/"

	var mu sync.Mutex
	var gone []revoked
	var loadSent, loadOld, loadLate, loadFailed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 20 { // 20 × 25/s
		wg.Go(func() {
			c := client(1)
			tick := time.NewTicker(40 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				key, old := live, revoked{}
				mu.Lock()
				if (i+w)%4 == 0 && len(gone) > 0 {
					old = gone[(i*7+w)%len(gone)]
					key = old.secret
				}
				mu.Unlock()
				sentAt := time.Now()
				st, err := n.encrypt(c, key)
				loadSent.Add(1)
				switch {
				case old.secret != "":
					loadOld.Add(1)
					if err == nil && st == 200 && sentAt.After(old.answered) {
						loadLate.Add(1)
					}
				case err != nil || st != 200:
					loadFailed.Add(1)
				}
			}
		})
	}
	start := time.Now()
	probesAfter, lateProbes := 0, 0
	for trial := range revokeTrials {
		var k apiKey
		json.Unmarshal(n.mustAdmin(t, 201, "POST", base[:len(base)-1], "{}"), &k)
		var answered atomic.Pointer[time.Time]
		var late, after atomic.Int64
		probeStop := make(chan struct{})
		var pw sync.WaitGroup
		accepted := make(chan struct{})
		pw.Go(func() {
			c := client(1)
			once := sync.Once{}
			for {
				select {
				case <-probeStop:
					return
				default:
				}
				sentAt := time.Now()
				st, err := n.encrypt(c, k.Key)
				if err == nil && st == 200 {
					once.Do(func() { close(accepted) })
				}
				if a := answered.Load(); a != nil && sentAt.After(*a) {
					after.Add(1)
					if err == nil && st == 200 {
						late.Add(1)
					}
				}
			}
		})
		select {
		case <-accepted:
		case <-time.After(5 * time.Second):
			t.Fatalf("trial %d: the new key was not accepted within 5s", trial)
		}
		n.mustAdmin(t, 200, "POST", base+k.ID+"/revoke", "")
		now := time.Now()
		answered.Store(&now)
		time.Sleep(20 * time.Millisecond)
		close(probeStop)
		pw.Wait()
		probesAfter += int(after.Load())
		lateProbes += int(late.Load())
		mu.Lock()
		gone = append(gone, revoked{k.Key, now})
		mu.Unlock()
	}
	time.Sleep(time.Second) // the load tries the last keys too
	close(stop)
	wg.Wait()
	rate := float64(loadSent.Load()) / time.Since(start).Seconds()
	t.Logf("%d revokes under %.0f req/s: probes sent after the revoke's answer %d, accepted %d; load requests with revoked keys %d, accepted after the answer %d; load requests with the live key that failed %d",
		revokeTrials, rate, probesAfter, lateProbes, loadOld.Load(), loadLate.Load(), loadFailed.Load())
	if lateProbes != 0 || loadLate.Load() != 0 {
		t.Errorf("requests accepted after a revoke's answer = %d (probes) + %d (load), want 0", lateProbes, loadLate.Load())
	}
	if probesAfter == 0 || loadOld.Load() == 0 || loadFailed.Load() != 0 {
		t.Errorf("probes after the answers = %d, load requests with revoked keys = %d (want both > 0); live-key failures = %d (want 0)", probesAfter, loadOld.Load(), loadFailed.Load())
	}
}
