package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// instancesBucket holds one key per live instance, <prefix>_instances/<id>,
// attached to the instance's lease. The store's cache ignores it.
const instancesBucket = "_instances"

// instanceRecord is an instance's registration as stored in etcd.
type instanceRecord struct {
	ID       string    `json:"instance_id"`
	DataAddr string    `json:"data_address"`
	AdminURL string    `json:"admin_address"`
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	// Boot is random per process: a registration of this id with
	// another boot is another process's.
	Boot string `json:"boot,omitempty"`
}

// ErrInstanceIDInUse: Join found the instance's id registered by another
// process that is still alive (a data directory copied with its
// instance.id).
var ErrInstanceIDInUse = errors.New("keystore: instance id already registered by another live instance")

// etcdMembers registers one instance under a lease, keeps the lease alive
// (registering again under a new lease if it expired, after a long break
// from etcd) and follows the registrations of all instances. Its two
// goroutines run from startEtcdMembers until close.
type etcdMembers struct {
	m      *Members
	kv     *etcdKV
	ttl    int64 // seconds
	key    string
	value  string
	boot   string // this process's boot id, in value
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	lease clientv3.LeaseID
	live  map[string]Instance
}

func startEtcdMembers(m *Members, kv *etcdKV, o MembershipOptions) (*etcdMembers, error) {
	self := m.self
	var raw [16]byte
	rand.Read(raw[:]) // never fails (crypto/rand)
	boot := hex.EncodeToString(raw[:])
	value, err := json.Marshal(instanceRecord{ID: self.ID, DataAddr: self.DataAddr, AdminURL: self.AdminURL, Version: self.Version, Started: self.Started, Boot: boot})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	em := &etcdMembers{
		m: m, kv: kv, ttl: int64(math.Ceil(o.TTL.Seconds())), value: string(value), boot: boot,
		key: kv.prefix + instancesBucket + "/" + self.ID, ctx: ctx, cancel: cancel,
	}
	if err := em.registerAtStart(o.Start, o.OnWait); err != nil && !errors.Is(err, ErrEtcdFull) {
		cancel()
		return nil, err
	}
	// etcd full (its NOSPACE alarm) refuses writes, a lease among them,
	// until an operator frees space; it still answers reads, and the
	// data plane serves from the cache. An instance restarted meanwhile
	// joins unregistered rather than not starting at all: keepAliveLoop
	// registers it (still never over another live process's
	// registration) as soon as etcd takes writes again.
	rev, err := em.load()
	if err != nil {
		em.close(true)
		return nil, err
	}
	em.wg.Add(2)
	go em.keepAliveLoop()
	go em.watchLoop(rev)
	return em, nil
}

// registerAtStart registers; while the id is registered by another
// process, it waits for that registration's lease to run out (a previous
// run of this instance that died without revoking it), and fails with
// ErrInstanceIDInUse if it is still renewed after its TTL. The wait ends
// early, with ErrJoinCancelled, when start (if not nil) is done; onWait
// (if not nil) is told when the wait begins.
func (em *etcdMembers) registerAtStart(start context.Context, onWait func(time.Duration)) error {
	wait := em.ctx
	if start != nil {
		var cancel context.CancelFunc
		wait, cancel = context.WithCancel(em.ctx)
		defer cancel()
		defer context.AfterFunc(start, cancel)()
	}
	var deadline time.Time
	for {
		held, err := em.register()
		switch {
		case err != nil:
			return err
		case held == 0:
			return nil
		case deadline.IsZero():
			d := time.Duration(held)*time.Second + 2*time.Second
			deadline = time.Now().Add(d)
			if onWait != nil {
				onWait(d)
			}
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %s (is a copy of this instance's data directory running? delete instance.id in one of them)", ErrInstanceIDInUse, em.m.self.ID)
		}
		sleep(wait, 250*time.Millisecond)
		if start != nil && start.Err() != nil {
			return fmt.Errorf("%w while waiting for an earlier registration of %s to expire", ErrJoinCancelled, em.m.self.ID)
		}
		if em.ctx.Err() != nil {
			return em.ctx.Err()
		}
	}
}

// register grants a new lease and writes the registration under it,
// unless the id is registered by another process: then held is the TTL
// (seconds, at least 1) of that registration's lease, and nothing is
// written.
func (em *etcdMembers) register() (held int64, err error) {
	ctx, cancel := context.WithTimeout(em.ctx, em.kv.timeout)
	defer cancel()
	g, err := em.kv.c.Grant(ctx, em.ttl)
	if err != nil {
		return 0, unavailable(err)
	}
	put := clientv3.OpPut(em.key, em.value, clientv3.WithLease(g.ID))
	resp, err := em.kv.c.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(em.key), "=", 0)).
		Then(put).
		Else(clientv3.OpGet(em.key)).
		Commit()
	if err != nil {
		return 0, unavailable(err)
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		var other instanceRecord
		if len(kvs) == 1 && (json.Unmarshal(kvs[0].Value, &other) != nil || other.Boot != em.boot) {
			em.kv.c.Revoke(ctx, g.ID)
			held = em.ttl
			if ttl, err := em.kv.c.TimeToLive(ctx, clientv3.LeaseID(kvs[0].Lease)); err == nil && ttl.GrantedTTL > 0 {
				held = ttl.GrantedTTL
			}
			return max(held, 1), nil
		}
		// Our own registration (this process's boot id) under an older
		// lease, or one whose put went through unanswered: take it.
		if _, err := em.kv.c.Put(ctx, em.key, em.value, clientv3.WithLease(g.ID)); err != nil {
			return 0, unavailable(err)
		}
	}
	em.mu.Lock()
	em.lease = g.ID
	em.mu.Unlock()
	return 0, nil
}

// keepAliveLoop renews the lease until close; when the lease is lost (it
// expired while etcd was out of reach), it registers again.
func (em *etcdMembers) keepAliveLoop() {
	defer em.wg.Done()
	for wait := 100 * time.Millisecond; em.ctx.Err() == nil; {
		em.mu.Lock()
		lease := em.lease
		em.mu.Unlock()
		if lease != 0 { // 0: not registered yet (etcd was full at start)
			ch, err := em.kv.c.KeepAlive(em.ctx, lease)
			if err == nil {
				for range ch { // drain: the client renews at a third of the TTL
				}
			}
		}
		if em.ctx.Err() != nil {
			return
		}
		sleep(em.ctx, wait)
		if held, err := em.register(); err != nil || held != 0 {
			wait = min(2*wait, 2*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
	}
}

// load reads every registration and returns the revision read at.
func (em *etcdMembers) load() (int64, error) {
	ctx, cancel := context.WithTimeout(em.ctx, em.kv.timeout)
	defer cancel()
	resp, err := em.kv.c.Get(ctx, em.kv.prefix+instancesBucket+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, unavailable(err)
	}
	live := map[string]Instance{}
	for _, kv := range resp.Kvs {
		if in, ok := decodeInstance(kv.Value); ok {
			live[in.ID] = in
		}
	}
	em.mu.Lock()
	em.live = live
	em.mu.Unlock()
	em.publish()
	return resp.Header.Revision, nil
}

// watchLoop follows the registrations from rev+1 until close, reading them
// all again whenever the watch breaks.
func (em *etcdMembers) watchLoop(rev int64) {
	defer em.wg.Done()
	for em.ctx.Err() == nil {
		err := em.watch(rev)
		if em.ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errResync) {
			sleep(em.ctx, 100*time.Millisecond)
		}
		if r, err := em.load(); err == nil {
			rev = r
		}
	}
}

func (em *etcdMembers) watch(rev int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(em.ctx))
	defer cancel()
	prefix := em.kv.prefix + instancesBucket + "/"
	for resp := range em.kv.c.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return errResync
		}
		if err := resp.Err(); err != nil {
			return err
		}
		em.mu.Lock()
		for _, ev := range resp.Events {
			id := strings.TrimPrefix(string(ev.Kv.Key), prefix)
			if ev.Type == clientv3.EventTypeDelete {
				delete(em.live, id)
			} else if in, ok := decodeInstance(ev.Kv.Value); ok {
				em.live[id] = in
			}
		}
		em.mu.Unlock()
		em.publish()
	}
	return em.ctx.Err()
}

// publish hands the live registrations to Members, with this instance
// among them even while it is not registered (etcd was full when it
// started, or its lease expired while it was cut off and it has not
// registered again yet): it is live, and its rate-limit share counts it.
func (em *etcdMembers) publish() {
	em.mu.Lock()
	list := make([]Instance, 0, len(em.live)+1)
	for _, in := range em.live {
		list = append(list, in)
	}
	if _, ok := em.live[em.m.self.ID]; !ok {
		list = append(list, em.m.self)
	}
	em.mu.Unlock()
	em.m.set(list)
}

// close stops both goroutines; with revoke, it also revokes the lease, so
// the registration goes at once. Without, it stays until the lease expires
// (what a crash looks like to the others).
func (em *etcdMembers) close(revoke bool) error {
	em.cancel()
	em.wg.Wait()
	if !revoke {
		return nil
	}
	em.mu.Lock()
	lease := em.lease
	em.mu.Unlock()
	if lease == 0 {
		return nil // never registered
	}
	ctx, cancel := context.WithTimeout(context.Background(), em.kv.timeout)
	defer cancel()
	if _, err := em.kv.c.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return unavailable(err)
	}
	return nil
}

func decodeInstance(b []byte) (Instance, bool) {
	var r instanceRecord
	if json.Unmarshal(b, &r) != nil || r.ID == "" {
		return Instance{}, false
	}
	return Instance{ID: r.ID, DataAddr: r.DataAddr, AdminURL: r.AdminURL, Version: r.Version, Started: r.Started}, true
}
