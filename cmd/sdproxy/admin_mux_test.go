package main

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin"
)

// TestAdminMuxRedirectIsAPath: / and /ui send the browser to the console
// by a path, never by an absolute URL built from the request's Host,
// which whoever sends the request chooses.
func TestAdminMuxRedirectIsAPath(t *testing.T) {
	metricsCalled := false
	h := adminMux(nil, nil, func(*fasthttp.RequestCtx) { metricsCalled = true })
	for _, path := range []string{"/", "/ui"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetHost("evil.example")
		h(&ctx)
		if got, loc := ctx.Response.StatusCode(), string(ctx.Response.Header.Peek("Location")); got != 302 || loc != "/ui/" {
			t.Errorf("GET %s with Host evil.example = %d Location %q, want 302 Location /ui/", path, got, loc)
		}
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	h(&ctx)
	if !metricsCalled {
		t.Error("GET /metrics did not reach the metrics handler")
	}
}

// TestAdminHandlerClosesOnUnreadBody: a request whose body the server
// has not read whole (larger than admin.UnauthBodyBytes, or chunked) ends
// its connection after the answer on every path that does not read it
// (/metrics, the console, the redirect), so that fasthttp does not read
// and drain a body for a caller that presented no token; a small body
// keeps the connection.
func TestAdminHandlerClosesOnUnreadBody(t *testing.T) {
	h := adminHandler(adminLoopback, "", nil, nil, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	for _, tc := range []struct {
		path   string
		length int
		close  bool
	}{
		{"/metrics", admin.UnauthBodyBytes + 1, true},
		{"/metrics", -1, true}, // chunked
		{"/", 1 << 20, true},
		{"/metrics", admin.UnauthBodyBytes, false},
		{"/metrics", 0, false},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(tc.path)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.SetContentLength(tc.length)
		h(&ctx)
		if got := ctx.Response.ConnectionClose(); got != tc.close {
			t.Errorf("POST %s with a body of %d: Connection: close = %v, want %v", tc.path, tc.length, got, tc.close)
		}
	}
}
