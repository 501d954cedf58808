package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestRevokedKeyInFlightResponseNotDecrypted: a key revoked (or expired)
// while its request waits for the upstream must not get the upstream's
// answer decrypted: once the revoke answers, the key "no longer
// authenticates", so the response phase, which opens tokens with the
// key's authority, must not run for it. The upstream here holds its
// answer until the key is revoked (or has expired), then answers a token.
func TestRevokedKeyInFlightResponseNotDecrypted(t *testing.T) {
	for _, how := range []string{"revoked", "expired"} {
		t.Run(how, func(t *testing.T) {
			e := newRTEnv(t, rtOptions{})
			arrived, release := make(chan struct{}), make(chan struct{})
			var tok string
			p := e.project("http://up.test")
			in := keystore.KeyInput{}
			if how == "expired" {
				exp := e.clock.Now().Add(time.Minute)
				in.ExpiresAt = &exp
			}
			key := e.key(p.ID, in)
			tok = e.seal(p.ID, key, `"123-45-6789"`)
			e.upstream("up.test:80", func(n int, _ *fasthttp.Request) []byte {
				close(arrived)
				select {
				case <-release:
				case <-e.stop:
					return nil
				}
				return rtAnswer(200, "application/json", `{"ssn":`+tok+`}`)
			})
			done := make(chan response, 1)
			go func() {
				done <- doRequest(t, e.client, "GET", "/proxy/"+p.ID+"/rec", "", HeaderAuthorization, key, HeaderResponseFields, "ssn")
			}()
			<-arrived
			if how == "revoked" {
				if _, err := e.store.RevokeKey(p.ID, rtKeyID(key)); err != nil {
					t.Fatal(err)
				}
			} else {
				e.clock.Advance(2 * time.Minute)
			}
			// The key no longer authenticates.
			if r := e.do("POST", "/proxy/"+p.ID, `{}`, HeaderAuthorization, key); r.status != 401 {
				t.Fatalf("the %s key = %d, want 401", how, r.status)
			}
			close(release)
			r := <-done
			if strings.Contains(string(r.body), "123-45-6789") {
				t.Fatalf("answer to a request of a key %s while it waited for the upstream = %d %s: the token was decrypted for a key that no longer authenticates", how, r.status, r.body)
			}
			rtErrorShape(t, "answer of a key "+how+" in flight", r, 401, "unauthorized")
		})
	}
}
