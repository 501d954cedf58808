package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// TestRecoveringAnswers500: a handler that panics gets a 500
// internal_error with its request id, and a log line that names the
// panic but never a value the panic carried.
func TestRecoveringAnswers500(t *testing.T) {
	for name, h := range map[string]fasthttp.RequestHandler{
		"runtime error": func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(httpapi.HeaderRequestID, "req_1")
			ctx.SetBodyString("half an answer")
			var s []byte
			_ = s[len(ctx.Path())] // index out of range
		},
		"a value": func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(httpapi.HeaderRequestID, "req_1")
			ctx.SetBodyString("half an answer")
			panic("ssn 123-45-6789")
		},
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/proxy/prj_x")
			recovering("data", h, slog.New(slog.NewTextHandler(&log, nil)))(&ctx)
			body := string(ctx.Response.Body())
			if ctx.Response.StatusCode() != 500 || !strings.Contains(body, `"internal_error"`) || !strings.Contains(body, `"req_1"`) || strings.Contains(body, "half") {
				t.Errorf("answer = %d %q, want 500 internal_error with the request id and nothing of the half answer", ctx.Response.StatusCode(), body)
			}
			if got := string(ctx.Response.Header.Peek(httpapi.HeaderErrorCode)); got != "internal_error" {
				t.Errorf("%s = %q, want internal_error", httpapi.HeaderErrorCode, got)
			}
			if !ctx.Response.ConnectionClose() {
				t.Errorf("the connection is kept after a panic, want it closed")
			}
			if !strings.Contains(log.String(), "handler panicked") || !strings.Contains(log.String(), "req_1") {
				t.Errorf("log = %q, want a line about the panic with the request id", log.String())
			}
			if strings.Contains(log.String(), "123-45-6789") {
				t.Errorf("log = %q, shows the value the panic carried", log.String())
			}
		})
	}
}
