package proxy

import (
	"bytes"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// staleStore is a key store that can be made to answer as an etcd-backed
// store does once it has lost contact for longer than max_staleness: every
// key is refused with keystore.ErrStoreUnavailable.
type staleStore struct {
	*keystore.Store
	stale atomic.Bool
}

func (s *staleStore) Authenticate(project, key []byte) (*keystore.Principal, error) {
	if s.stale.Load() {
		return nil, keystore.ErrStoreUnavailable
	}
	return s.Store.Authenticate(project, key)
}

func (s *staleStore) AuthenticateKey(key []byte) (*keystore.Principal, error) {
	if s.stale.Load() {
		return nil, keystore.ErrStoreUnavailable
	}
	return s.Store.AuthenticateKey(key)
}

// TestPreauthStoreUnavailable: while the store cannot vouch for keys, a
// request is answered 503 store_unavailable, not counted against its
// address, whatever the size of its body. A body larger than
// limits.unauth_body_bytes reaches the handler unread (the server
// streams it): the store's outage must not turn into a 401 that spends
// the client's budget of failed authentications (and locks its address
// out with 429 once the store is back).
func TestPreauthStoreUnavailable(t *testing.T) {
	clock := testclock.New()
	ks, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{1}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	store := &staleStore{Store: ks}
	d := NewData(DataOptions{Store: store, Now: clock.Now, MaxBodyBytes: 1 << 20,
		AuthFailures: AuthFailureOptions{PerSecond: 1, Burst: 3}})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: d.Handler}
	d.ConfigureServer(srv)
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
		ks.Close()
	})
	dial := func() (net.Conn, error) {
		return ln.DialWithLocalAddr(&net.TCPAddr{IP: net.IPv4(198, 51, 100, 9), Port: 4000})
	}
	client := &fasthttp.HostClient{Addr: "sdproxy", Dial: func(string) (net.Conn, error) { return dial() }}
	name := "p"
	p, err := ks.CreateProject(keystore.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.CreateKey(p.ID, keystore.KeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	small := `{"data":"x"}`
	large := `{"data":"` + strings.Repeat("x", 8<<10) + `"}`

	store.stale.Store(true)
	for _, body := range []string{small, large} {
		for i := range 5 {
			r := doWhole(t, dial, "POST", pathDirectEncrypt, body, HeaderAuthorization, k.Secret)
			if r.status != 503 || r.code() != "store_unavailable" {
				t.Fatalf("store unavailable, %d-byte body, request %d = %d %s %s, want 503 store_unavailable", len(body), i, r.status, r.code(), r.body)
			}
		}
	}
	if n := d.AuthFailures(); n != 0 {
		t.Errorf("store unavailable: %d failed authentications counted, want 0 (not the caller's failure)", n)
	}
	store.stale.Store(false)
	if r := doRequest(t, client, "POST", pathDirectEncrypt, small, HeaderAuthorization, k.Secret); r.status != 200 {
		t.Errorf("store back: valid key = %d %s %s, want 200", r.status, r.code(), r.body)
	}
}
