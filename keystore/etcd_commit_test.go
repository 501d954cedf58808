package keystore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sdproxy/sdproxy/internal/etcdtest"
)

// errLost is what the client returns when the member a request went to
// dies before answering.
var errLost = status.Error(codes.Unavailable, "error reading from server: EOF")

// TestEtcdCommitAnswerLost: a commit whose answer is lost is settled, never
// applied twice. Applied with its answer lost: the write succeeds, once.
// Never sent (as a proposal dropped by a dying leader): the write runs
// again and succeeds, once, and the lost commit, sent late, can no longer
// apply.
func TestEtcdCommitAnswerLost(t *testing.T) {
	ep := startEtcd(t)
	s := openEtcdTestStore(t, ep, newClock())
	e := s.kv.(*etcdKV)
	p := mustProject(t, s, "lost")
	type sender = func(context.Context) (*clientv3.TxnResponse, error)
	hook := func(first func(ctx context.Context, send sender) (*clientv3.TxnResponse, error)) *int {
		calls := new(int)
		e.commitHook = func(ctx context.Context, send sender) (*clientv3.TxnResponse, error) {
			*calls++
			if *calls == 1 {
				return first(ctx, send)
			}
			return send(ctx)
		}
		return calls
	}
	defer func() { e.commitHook = nil }()

	calls := hook(func(ctx context.Context, send sender) (*clientv3.TxnResponse, error) {
		if _, err := send(ctx); err != nil {
			t.Errorf("the commit itself = %v", err)
		}
		return nil, errLost
	})
	k1, err := s.CreateKey(p.ID, KeyInput{})
	if err != nil || *calls != 1 {
		t.Fatalf("CreateKey with its commit applied and the answer lost = %v after %d commits, want success after 1", err, *calls)
	}
	checkKeyIDs(t, s, p.ID, k1.ID)

	var late sender
	calls = hook(func(_ context.Context, send sender) (*clientv3.TxnResponse, error) {
		late = send
		return nil, errLost
	})
	k2, err := s.CreateKey(p.ID, KeyInput{})
	if err != nil || *calls != 2 {
		t.Fatalf("CreateKey with its first commit lost unsent = %v after %d commits, want success after 2", err, *calls)
	}
	checkKeyIDs(t, s, p.ID, k1.ID, k2.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := late(ctx)
	if err != nil || resp.Succeeded {
		t.Errorf("the lost commit sent after it was settled = %v, %v, want not applied", resp, err)
	}
	checkKeyIDs(t, s, p.ID, k1.ID, k2.ID)
	fenced := 0
	for _, kv := range txnMarkers(t, e) {
		if string(kv.Value) == markerFenced {
			fenced++
		}
	}
	if fenced != 1 {
		t.Errorf("fences = %d, want 1 (the lost commit's)", fenced)
	}
}

// checkKeyIDs checks that project's stored keys are exactly ids.
func checkKeyIDs(t *testing.T, s *Store, project string, ids ...string) {
	t.Helper()
	keys, err := s.Keys(project)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("stored keys = %v, want %v", got, ids)
	}
}

// txnMarkers reads the commit markers stored, and checks that each is
// under a lease (so that it expires).
func txnMarkers(t *testing.T, e *etcdKV) []*mvccpb.KeyValue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.c.Get(ctx, e.prefix+txnBucket+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if kv.Lease == 0 {
			t.Errorf("marker %s has no lease: it would stay forever", kv.Key)
		}
	}
	return resp.Kvs
}

// TestEtcdWritesSurviveMemberKill: three stores on a three-member etcd
// create and revoke keys and reserve seal blocks without pause while a
// follower is killed (then restarted), and then the leader. Every write
// succeeds, none is applied twice: the keys stored are exactly those
// created, and each version's counter is exactly the sum of the blocks
// reserved.
func TestEtcdWritesSurviveMemberKill(t *testing.T) {
	cl := etcdtest.StartCluster(t, 3)
	c := newClock()
	stores := openStores(t, cl.Endpoints(), c, 3, func(o *EtcdOptions) { o.RequestTimeout = 5 * time.Second })
	var mu sync.Mutex
	blocks := map[uint32][]block{}
	for i, s := range stores {
		s.onReserve = func(_ string, v uint32, from, to uint64) {
			mu.Lock()
			blocks[v] = append(blocks[v], block{i, from, to})
			mu.Unlock()
		}
	}
	p := mustProject(t, stores[0], "kill")
	for _, s := range stores {
		eventuallyKeyring(t, s, p.ID)
	}

	var created []string
	for _, kill := range []string{"follower", "leader"} {
		leader := etcdLeader(t, stores[0], cl)
		member := leader
		if kill == "follower" {
			member = (leader + 1) % 3
		}
		w := startWriters(t, stores, p.ID)
		time.Sleep(300 * time.Millisecond)
		cl.Members[member].Stop()
		killed := time.Now()
		time.Sleep(3 * time.Second)
		r := w.stop()
		n, slowest := r.across(killed)
		t.Logf("etcd's %s killed: %d keys created, %d blocks reserved, %d writes failed; %d writes in flight at the kill, the slowest took %s",
			kill, len(r.created), r.reserved, len(r.failed), n, slowest.Round(time.Millisecond))
		for _, err := range r.failed {
			t.Errorf("a write with etcd's %s killed = %v, want success", kill, err)
		}
		if len(r.created) == 0 || r.reserved == 0 {
			t.Errorf("writes with etcd's %s killed: %d keys created, %d blocks reserved; want some of each", kill, len(r.created), r.reserved)
		}
		created = append(created, r.created...)
		cl.Members[member].Restart(20 * time.Second)
	}

	checkKeyIDs(t, stores[0], p.ID, created...)
	checkBlocks(t, blocks, storedReservations(t, stores[0], p.ID), stores[0].opts.DataKeyRotateAfter)
	fenced := 0
	for _, kv := range txnMarkers(t, stores[0].kv.(*etcdKV)) {
		if string(kv.Value) == markerFenced {
			fenced++
		}
	}
	t.Logf("%d keys created in all, %d commits settled as not applied (fenced)", len(created), fenced)
	for i, s := range stores {
		eventually(t, propagation, fmt.Sprintf("every key on store %d", i), func() error {
			for _, id := range created {
				if s.cache.key([]byte(id)) == nil {
					return fmt.Errorf("key %s missing", id)
				}
			}
			return nil
		})
	}
}

// etcdLeader is the index of the member of cl that leads, as the members
// say through s's client.
func etcdLeader(t *testing.T, s *Store, cl *etcdtest.Cluster) int {
	t.Helper()
	c := s.kv.(*etcdKV).c
	for i, m := range cl.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.Status(ctx, m.ClientURL)
		cancel()
		if err != nil {
			t.Fatalf("etcd status of %s: %v", m.Name, err)
		}
		if st.Header.MemberId == st.Leader {
			return i
		}
	}
	t.Fatal("no etcd member says it leads")
	return 0
}

// writers create and revoke keys and reserve seal blocks, on each store
// (two goroutines), without pause until stopped.
type writers struct {
	stop func() writeResults
}

type writeResults struct {
	created  []string
	reserved int
	failed   []error
	ends     []timedWrite
}

type timedWrite struct{ start, end time.Time }

// across counts the writes in flight at at, and the longest of them.
func (r writeResults) across(at time.Time) (n int, longest time.Duration) {
	for _, w := range r.ends {
		if w.start.Before(at) && w.end.After(at) {
			n++
			longest = max(longest, w.end.Sub(w.start))
		}
	}
	return n, longest
}

func startWriters(t *testing.T, stores []*Store, project string) writers {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var r writeResults
	note := func(start time.Time, err error) {
		r.ends = append(r.ends, timedWrite{start, time.Now()})
		if err != nil {
			r.failed = append(r.failed, err)
		}
	}
	for _, s := range stores {
		{
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					start := time.Now()
					k, err := s.CreateKey(project, KeyInput{})
					mu.Lock()
					note(start, err)
					if err == nil {
						r.created = append(r.created, k.ID)
					}
					mu.Unlock()
					if err != nil {
						continue
					}
					start = time.Now()
					_, err = s.RevokeKey(project, k.ID) // keeps the active keys under the cap
					mu.Lock()
					note(start, err)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			k, err := s.Keyring(project)
			if err != nil {
				t.Errorf("Keyring = %v", err)
				return
			}
			for {
				select {
				case <-done:
					return
				default:
				}
				start := time.Now()
				_, _, err := k.SealKey(reserveBlock) // a block each time
				mu.Lock()
				note(start, err)
				if err == nil {
					r.reserved++
				}
				mu.Unlock()
			}
		})
	}
	return writers{stop: func() writeResults {
		close(done)
		wg.Wait()
		return r
	}}
}
