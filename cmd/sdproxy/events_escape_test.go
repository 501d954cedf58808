package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
)

// TestPrintEventsForgedPath: a request path with a newline, terminal
// escapes and a bidi override stays on its row and prints no control
// character (the events table used to print paths raw).
func TestPrintEventsForgedPath(t *testing.T) {
	var buf bytes.Buffer
	items := []wire.Event{{ID: "evt_2", Type: events.TypeRequest, Time: time.Unix(0, 0), Method: "GET",
		Path: "/proxy/prj_1/x\n1970-01-01 00:00:00.000Z  key.revoked\x1b[2K\u202e", Status: 200}}
	printEvents(&buf, "table", items, true)
	if out := buf.String(); strings.Count(out, "\n") != 2 || strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("printEvents with a forged path = %q, want 2 lines and no ESC or bidi override", out)
	}
}
