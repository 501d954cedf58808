package admin

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestPeerTokenNeverInClear: an instance whose own admin URL is https
// never sends its admin token to a peer whose admin URL in the instance
// registry is http:// (whoever can register an instance — write access
// to etcd, which every instance has, or one misconfigured instance —
// would collect it when an operator verifies or merges the event logs):
// the peer is listed unreachable instead.
func TestPeerTokenNeverInClear(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rogue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(503)
	}))
	defer rogue.Close()
	self := keystore.Instance{ID: "inst_self", AdminURL: "https://self.test:8081"}
	peer := keystore.Instance{ID: "inst_rogue", AdminURL: rogue.URL} // http://127.0.0.1:…
	l, err := events.Open(t.TempDir(), events.Options{MasterKey: bytes.Repeat([]byte{9}, 32), CheckpointEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := newAdmEnvWith(t, func(o *Options) {
		o.Events = l
		o.Members = fakeMembers{self: self, list: []keystore.Instance{self, peer}}
		o.MergeEvents = true
		o.PeerTLS = &tls.Config{MinVersion: tls.VersionTLS12}
	})
	r := e.call("GET", "/admin/v1/events/verify?all=1", "")
	t.Logf("verify?all=1 = %d %s", r.status, r.body)
	mu.Lock()
	defer mu.Unlock()
	for _, a := range got {
		if a != "" {
			t.Fatalf("a plaintext http:// peer received Authorization %q: the admin token left in clear", a)
		}
	}
}
