package admin

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// peerTimeout bounds a call to another instance's admin API: one that
// does not answer within it is reported unreachable.
const peerTimeout = 2 * time.Second

// newPeerClient is the client that calls other instances' admin APIs,
// with conf for https:// peers (nil: the system's roots, no client
// certificate).
func newPeerClient(conf *tls.Config) *fasthttp.Client {
	return &fasthttp.Client{
		Name: "sdproxy-admin-peer", NoDefaultUserAgentHeader: true, TLSConfig: conf, DialDualStack: true, // a peer may advertise an IPv6 address
		ReadTimeout: peerTimeout, WriteTimeout: peerTimeout, MaxIdleConnDuration: time.Minute,
		MaxResponseBodySize: 64 << 20, MaxConnsPerHost: 16,
	}
}

// peerGet calls GET base+pathQuery on another instance with the admin
// token and decodes its JSON answer into out. Answers other than the
// statuses in ok are errors.
func (a *Admin) peerGet(base, pathQuery string, out any, ok ...int) error {
	// An instance whose own admin API is https never sends the token to
	// a plaintext peer: whoever registered an http:// admin URL (or a
	// misconfigured instance) would read it off the wire.
	if a.members != nil && hasPrefixFold(a.members.Self().AdminURL, "https://") && !hasPrefixFold(base, "https://") {
		return fmt.Errorf("its admin URL is not https://: the admin token is not sent in clear")
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(base + pathQuery)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if err := a.peers.DoTimeout(req, resp, peerTimeout); err != nil {
		return err
	}
	status := resp.StatusCode()
	for _, s := range ok {
		if s == status {
			return json.Unmarshal(resp.Body(), out)
		}
	}
	return fmt.Errorf("answered %d", status)
}

// eachInstance runs fn for every instance of list at once, self included
// (self reports whether it is this one), and waits for all.
func (a *Admin) eachInstance(list []keystore.Instance, fn func(i int, in keystore.Instance, self bool)) {
	selfID := a.members.Self().ID
	var wg sync.WaitGroup
	for i, in := range list {
		wg.Go(func() { fn(i, in, in.ID == selfID) })
	}
	wg.Wait()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
