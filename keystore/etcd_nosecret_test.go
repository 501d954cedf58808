package keystore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestNoSecretInEtcd: after a
// project, a key, a sealed value, a subject and an instance registration,
// nothing under the prefix holds the API key's secret, the master key, a
// data key, a subject's secret or the keyed-hash key in clear (raw, hex
// or base64).
func TestNoSecretInEtcd(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	s := openEtcdTestStore(t, ep, c)
	p := mustProject(t, s, "p")
	k := mustKey(t, s, p.ID, KeyInput{})
	sealValue(t, s, p.ID, `"alice@example.com"`)
	kr := mustKeyring(t, s, p.ID)
	ann, _ := kr.SubjectRef([]byte("ann@example.com"))
	sealOpen(t, kr, ann[:])
	if err := s.FlushSubjectCounts(); err != nil {
		t.Fatal(err)
	}
	m, err := s.Join(Instance{ID: "inst_x", AdminURL: "http://127.0.0.1:1"}, MembershipOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	secrets := map[string][]byte{
		"api key":     []byte(k.Secret),
		"master key":  testMaster,
		"hash key":    s.hashKey,
		"kek":         s.kek,
		"data key v1": kr.current.Load().raw,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := s.kv.(*etcdKV).c.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		for name, sec := range secrets {
			if len(sec) == 0 {
				t.Fatalf("%s empty", name)
			}
			for _, form := range [][]byte{sec, []byte(hex.EncodeToString(sec)), []byte(base64.StdEncoding.EncodeToString(sec)), []byte(base64.RawURLEncoding.EncodeToString(sec))} {
				if bytes.Contains(kv.Value, form) || bytes.Contains(kv.Key, form) {
					t.Errorf("etcd key %s holds the %s", kv.Key, name)
				}
			}
		}
	}
	t.Logf("checked %d etcd keys", len(resp.Kvs))
	for _, kv := range resp.Kvs {
		t.Logf("  %s (%d bytes)", kv.Key, len(kv.Value))
	}
}
