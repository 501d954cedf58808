package keystore

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func ids(list []Instance) string {
	s := ""
	for i, in := range list {
		if i > 0 {
			s += ","
		}
		s += in.ID
	}
	return s
}

// TestMembersBbolt: on bbolt the list is this instance alone.
func TestMembersBbolt(t *testing.T) {
	s := openTestStore(t, t.TempDir(), newClock())
	var seen atomic.Int32
	m, err := s.Join(Instance{ID: "inst_a", AdminURL: "http://127.0.0.1:8081"}, MembershipOptions{OnChange: func(l []Instance) { seen.Store(int32(len(l))) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := ids(m.List()); got != "inst_a" {
		t.Errorf("List() = %s, want inst_a", got)
	}
	if seen.Load() != 1 {
		t.Errorf("OnChange saw %d instances, want 1", seen.Load())
	}
	if _, err := s.Join(Instance{}, MembershipOptions{}); !errors.Is(err, ErrBadInstance) {
		t.Errorf("Join(no id) = %v, want ErrBadInstance", err)
	}
}

// TestEtcdMembers: instances on one etcd see each other; one that leaves
// goes at once; one that stops renewing its lease (a crash) goes once the
// lease expires; a registration lost while the instance lives comes back.
func TestEtcdMembers(t *testing.T) {
	eps := startEtcd(t)
	c := newClock()
	stores := []*Store{openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c), openEtcdTestStore(t, eps, c)}
	ms := make([]*Members, 3)
	for i, s := range stores {
		in := Instance{ID: fmt.Sprintf("inst_%c", 'a'+i), DataAddr: "127.0.0.1:1", AdminURL: "http://127.0.0.1:2", Version: "test", Started: c.Now()}
		m, err := s.Join(in, MembershipOptions{TTL: 2 * time.Second})
		if err != nil {
			t.Fatalf("Join(%s) = %v", in.ID, err)
		}
		t.Cleanup(func() { m.Close() })
		ms[i] = m
	}
	want := func(m *Members, list string) func() error {
		return func() error {
			if got := ids(m.List()); got != list {
				return fmt.Errorf("List() = %s, want %s", got, list)
			}
			return nil
		}
	}
	eventually(t, 5*time.Second, "all three registered", want(ms[0], "inst_a,inst_b,inst_c"))
	if in := ms[0].List()[1]; in.AdminURL != "http://127.0.0.1:2" || in.Version != "test" || !in.Started.Equal(c.Now()) {
		t.Errorf("List()[1] = %+v, want what inst_b registered", in)
	}

	ms[2].Close()
	eventually(t, 2*time.Second, "inst_c left", want(ms[0], "inst_a,inst_b"))

	start := time.Now()
	ms[1].etcd.close(false) // stops renewing: what a crash looks like
	took := eventually(t, 15*time.Second, "inst_b's lease expired", want(ms[0], "inst_a"))
	if took < time.Second {
		t.Errorf("inst_b gone after %s, before its 2s lease could expire", time.Since(start))
	}

	// inst_a's own registration lost (revoked behind its back, as when it
	// expired during a partition): inst_a registers again.
	ms[0].etcd.mu.Lock()
	lease := ms[0].etcd.lease
	ms[0].etcd.mu.Unlock()
	if _, err := stores[0].kv.(*etcdKV).c.Revoke(t.Context(), lease); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "inst_a registered again", func() error {
		ms[0].etcd.mu.Lock()
		defer ms[0].etcd.mu.Unlock()
		if ms[0].etcd.lease == lease {
			return errors.New("same lease")
		}
		return want(ms[0], "inst_a")()
	})
}
