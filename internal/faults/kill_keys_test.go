//go:build faults

package faults

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// killRounds is how many times TestKillDuringKeyWrites kills serve.
const killRounds = 50

// TestKillDuringKeyWrites: serve is killed with SIGKILL at a random
// moment while two clients create, revoke and rotate keys, killRounds
// times on the same data directory. After each kill the event log must
// verify, serve must start again, every key whose create (or rotate) was
// answered must exist and authenticate, and every key whose revoke (or
// rotation with no grace) was answered must stay refused.
func TestKillDuringKeyWrites(t *testing.T) {
	n := newNode(t, t.TempDir(), baseConfig+"limits:\n  auth_failures:\n    per_second: 0\n")
	n.start(t)
	project := n.createProject(t, "")
	var mu sync.Mutex
	live := map[string]string{} // id → secret: answered creates, not since answered as revoked
	dead := map[string]string{} // id → secret: answered revokes and rotations
	var lost, revived, ops int
	for round := range killRounds {
		if round > 0 {
			n.start(t)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { keyWriter(n, project, &mu, live, dead, stop, &ops) })
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		n.Kill()
		close(stop)
		wg.Wait()
		n.verifyStopped(t)
		n.start(t)
		stored := n.keys(t, project)
		c := client(4)
		for id, secret := range live {
			st, err := n.encrypt(c, secret)
			if k, ok := stored[id]; !ok || k.Status != "active" || err != nil || st != 200 {
				lost++
				t.Errorf("round %d: key %s answered as created is %+v (stored %v), encrypt = %d %v; want active and 200", round, id, k, ok, st, err)
			}
		}
		for id, secret := range dead {
			st, err := n.encrypt(c, secret)
			if k := stored[id]; k.Status == "active" || err != nil || st != 401 {
				revived++
				t.Errorf("round %d: key %s answered as revoked is %q, encrypt = %d %v; want not active and 401", round, id, k.Status, st, err)
			}
		}
		n.Kill()
	}
	t.Logf("%d kills during %d answered key writes: %d answered keys lost, %d revocations revived; events verify passed %d times; %d live and %d revoked keys checked at the end",
		killRounds, ops, lost, revived, killRounds, len(live), len(dead))
}

// keyWriter creates (55 %), revokes (25 %) and rotates with no grace
// (20 %) keys until stop, recording what was answered.
func keyWriter(n *node, project string, mu *sync.Mutex, live, dead map[string]string, stop chan struct{}, ops *int) {
	base := "/admin/v1/projects/" + project + "/keys"
	for {
		select {
		case <-stop:
			return
		default:
		}
		mu.Lock()
		var victim, secret string
		for id, s := range live {
			victim, secret = id, s
			break
		}
		if victim != "" {
			delete(live, victim) // no other writer touches it; put back below unless answered
		}
		mu.Unlock()
		r := rand.IntN(100)
		var status int
		var body []byte
		var err error
		switch {
		case r < 55 || victim == "":
			status, body, err = n.admin("POST", base, "{}")
		case r < 80:
			status, body, err = n.admin("POST", base+"/"+victim+"/revoke", "")
		default:
			status, body, err = n.admin("POST", base+"/"+victim+"/rotate", `{"grace_period":"0s"}`)
		}
		var k apiKey
		json.Unmarshal(body, &k)
		mu.Lock()
		switch {
		case err == nil && status == 201 && k.Key != "": // create or rotate answered
			live[k.ID] = k.Key
			if r >= 80 && victim != "" {
				dead[victim] = secret
			} else if victim != "" {
				live[victim] = secret
			}
			*ops++
		case err == nil && status == 200 && victim != "": // revoke answered
			dead[victim] = secret
			*ops++
		default: // not answered (killed): either outcome is right, so forget it
			if victim != "" && (err == nil || r < 55) {
				live[victim] = secret
			}
		}
		mu.Unlock()
	}
}
