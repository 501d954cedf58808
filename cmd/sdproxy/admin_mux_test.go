package main

import (
	"testing"

	"github.com/valyala/fasthttp"
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
