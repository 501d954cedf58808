package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/testclock"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestRateLimitedKeyReservesNoBody: a key whose rate limit is spent
// sends, on 32 connections, headers declaring a 4 MiB body and its first
// 4 KiB. Each is answered 429 with Connection: close before the rest is
// read, and the server sets nothing aside for the declared length (with
// the whole body read before the handler, fasthttp reserved the 4 MiB of
// each as soon as the headers were in: +128 MiB here).
func TestRateLimitedKeyReservesNoBody(t *testing.T) {
	clock := testclock.New()
	ks, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{1}, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const maxBody = 4 << 20
	d := NewData(DataOptions{Store: ks, Now: clock.Now, MaxBodyBytes: maxBody})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: d.Handler, ReadTimeout: 30 * time.Second}
	d.ConfigureServer(srv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(); ln.Close(); ks.Close() })
	name := "p"
	rl := keystore.RateLimit{RequestsPerSecond: 1, Burst: 1}
	p, err := ks.CreateProject(keystore.ProjectInput{Name: &name, RateLimit: &rl})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.CreateKey(p.ID, keystore.KeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	client := &fasthttp.HostClient{Addr: "sdproxy", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	for range 3 { // spend the bucket
		doRequest(t, client, "POST", pathDirectEncrypt, `{"data":"x"}`, HeaderAuthorization, k.Secret)
	}
	if r := doRequest(t, client, "POST", pathDirectEncrypt, `{"data":"x"}`, HeaderAuthorization, k.Secret); r.status != 429 {
		t.Fatalf("bucket not spent: %d", r.status)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	const conns = 32
	var open []net.Conn
	for range conns {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a server waiting for the rest fails the test, not hangs it
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: sdproxy\r\nContent-Type: application/json\r\n%s: %s\r\nContent-Length: %d\r\n\r\n%s",
			pathDirectEncrypt, HeaderAuthorization, k.Secret, maxBody, `{"data":"`+strings.Repeat("x", 4<<10))
	}
	for i, c := range open {
		resp := fasthttp.AcquireResponse()
		if err := resp.Read(bufio.NewReader(c)); err != nil {
			t.Fatalf("connection %d: no answer before the rest of the body: %v", i, err)
		}
		if resp.StatusCode() != 429 || !resp.ConnectionClose() {
			t.Errorf("connection %d: %d (Connection: close %v), want 429 and the connection closed", i, resp.StatusCode(), resp.ConnectionClose())
		}
		fasthttp.ReleaseResponse(resp)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(before)
	t.Logf("rate-limited key, %d connections declaring %d MiB each: heap %+d KiB", conns, maxBody>>20, grown>>10)
	for _, c := range open {
		c.Close()
	}
	if grown > int64(conns)*maxBody/4 {
		t.Errorf("a key refused by its rate limit made the server set aside %d MiB for %d connections that sent 4 KiB each", grown>>20, conns)
	}
}
