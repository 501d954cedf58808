package main

import (
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestLoopbackHostGuard: an admin listener on loopback answers requests
// for localhost, a loopback IP or the advertised host, and refuses others
// with 421 (a page re-pointed at 127.0.0.1 by DNS rebinding reads
// nothing); on any other address every Host passes.
func TestLoopbackHostGuard(t *testing.T) {
	reached := false
	next := func(*fasthttp.RequestCtx) { reached = true }
	loop := loopbackHostGuard(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}, "http://sdproxy1.internal:8081", next)
	open := loopbackHostGuard(&net.TCPAddr{IP: net.IPv4zero, Port: 8081}, "", next)
	for _, c := range []struct {
		h    fasthttp.RequestHandler
		host string
		pass bool
	}{
		{loop, "127.0.0.1:8081", true},
		{loop, "localhost:8081", true},
		{loop, "LOCALHOST.", true},
		{loop, "app.localhost:8081", true},
		{loop, "[::1]:8081", true},
		{loop, "127.9.9.9", true},
		{loop, "sdproxy1.internal:8081", true},
		{loop, "", true},
		{loop, "attacker.example:8081", false},
		{loop, "attacker.example", false},
		{loop, "10.0.0.5:8081", false},
		{loop, "localhost.attacker.example", false},
		{open, "attacker.example:8081", true},
	} {
		reached = false
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/metrics")
		ctx.Request.Header.SetHost(c.host)
		c.h(&ctx)
		if reached != c.pass {
			t.Errorf("Host %q: reached the handler = %v, want %v", c.host, reached, c.pass)
		}
		if !c.pass {
			if got := ctx.Response.StatusCode(); got != 421 || !strings.Contains(string(ctx.Response.Body()), `"misdirected_request"`) ||
				len(ctx.Response.Header.Peek("X-Qanapi-Request-Id")) == 0 {
				t.Errorf("Host %q = %d %s (request id %q), want 421 misdirected_request with a request id", c.host, got, ctx.Response.Body(), ctx.Response.Header.Peek("X-Qanapi-Request-Id"))
			}
		}
	}
}
