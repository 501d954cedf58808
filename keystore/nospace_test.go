package keystore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdAlarmNoSpace raises (on) or disarms (off) etcd's NOSPACE alarm on
// every member, as etcd does itself when its database passes
// --quota-backend-bytes: from then on it refuses every write with
// "mvcc: database space exceeded" and applies nothing.
func etcdAlarmNoSpace(t *testing.T, c *clientv3.Client, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ml, err := c.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ml.Members {
		if on {
			_, err = pb.NewMaintenanceClient(c.ActiveConnection()).Alarm(ctx, &pb.AlarmRequest{
				Action: pb.AlarmRequest_ACTIVATE, MemberID: m.ID, Alarm: pb.AlarmType_NOSPACE,
			})
		} else {
			_, err = c.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: m.ID, Alarm: pb.AlarmType_NOSPACE})
		}
		if err != nil {
			t.Fatalf("alarm (on=%v): %v", on, err)
		}
	}
}

// TestEtcdQuotaFullIsClearAndImmediate: with etcd's space quota
// exhausted (the NOSPACE alarm), a write is refused at once with an error
// that names the cause, is sent once (etcd refuses it before applying
// anything, and trying again changes nothing), and does not say that it
// may have been applied. Once the alarm is disarmed writes succeed again,
// with nothing lost or written twice.
func TestEtcdQuotaFullIsClearAndImmediate(t *testing.T) {
	ep := startEtcd(t)
	s := openEtcdTestStore(t, ep, newClock())
	e := s.kv.(*etcdKV)
	p := mustProject(t, s, "quota") // grants the markers' lease, as a running instance has
	sends := 0
	e.commitHook = func(ctx context.Context, send func(context.Context) (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
		sends++
		return send(ctx)
	}
	defer func() { e.commitHook = nil }()

	etcdAlarmNoSpace(t, e.c, true)
	_, err := s.CreateKey(p.ID, KeyInput{Name: "during"})
	switch {
	case err == nil:
		t.Fatal("CreateKey with etcd's quota exhausted succeeded")
	case !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, ErrEtcdFull):
		t.Errorf("CreateKey with etcd's quota exhausted = %v, want ErrEtcdFull and ErrStoreUnavailable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "database space exceeded") {
		t.Errorf("error %q does not name the cause (etcd's space quota)", msg)
	}
	if strings.Contains(msg, "may have been applied") {
		t.Errorf("error %q says the write may have been applied; etcd applied nothing", msg)
	}
	if sends != 1 {
		t.Errorf("the refused commit was sent %d times, want 1 (etcd refuses it until its alarm is disarmed)", sends)
	}
	if keys, err := s.Keys(p.ID); err != nil || len(keys) != 0 {
		t.Errorf("keys after the refused create = %v, %v; want none", keys, err)
	}

	etcdAlarmNoSpace(t, e.c, false)
	if _, err := s.CreateKey(p.ID, KeyInput{Name: "after"}); err != nil {
		t.Fatalf("CreateKey after the alarm was disarmed = %v", err)
	}
	if keys, err := s.Keys(p.ID); err != nil || len(keys) != 1 {
		t.Errorf("keys after the alarm = %d, %v; want 1", len(keys), err)
	}
}

// TestEtcdQuotaFullRestart: with etcd's space quota exhausted, the
// data plane goes on from the cache (reads work), so an instance that
// restarts meanwhile should come back too: it opens the store and joins
// the instance list, registering as soon as etcd takes writes again.
func TestEtcdQuotaFullRestart(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	a := openEtcdTestStore(t, ep, c)
	p := mustProject(t, a, "quota")
	k := mustKey(t, a, p.ID, KeyInput{})
	e := a.kv.(*etcdKV)
	etcdAlarmNoSpace(t, e.c, true)

	b := openEtcdTestStore(t, ep, c) // a restarted instance
	if _, err := b.Authenticate([]byte(p.ID), []byte(k.Secret)); err != nil {
		t.Errorf("restarted instance: Authenticate = %v", err)
	}
	m, err := b.Join(Instance{ID: "b"}, MembershipOptions{TTL: 2 * time.Second})
	if err != nil {
		t.Fatalf("Join with etcd's quota exhausted = %v, want joined (registered once etcd takes writes)", err)
	}
	defer m.Close()
	if !listed(m.List(), "b") {
		t.Errorf("b's own list while it is unregistered = %v, want b in it (it is live, and its rate-limit share counts it)", m.List())
	}
	etcdAlarmNoSpace(t, e.c, false)
	eventually(t, propagation, "registered after the alarm", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := e.c.Get(ctx, e.prefix+instancesBucket+"/b")
		if err != nil || len(resp.Kvs) != 1 {
			return fmt.Errorf("b's registration: %v", err)
		}
		return nil
	})
}

func listed(list []Instance, id string) bool {
	for _, in := range list {
		if in.ID == id {
			return true
		}
	}
	return false
}
