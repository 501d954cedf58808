package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func TestPreviewInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.json")
	if err := os.WriteFile(file, []byte(`{"a": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		pf         previewFlags
		stdin      string
		method     string
		body, resp string
		err        string
	}{
		{name: "no body: GET", pf: previewFlags{path: "/x"}, method: "GET"},
		{name: "inline body: POST", pf: previewFlags{path: "/x", data: `[1,2]`}, method: "POST", body: `[1,2]`},
		{name: "method given", pf: previewFlags{path: "/x", method: "put", data: `{}`}, method: "put", body: `{}`},
		{name: "file", pf: previewFlags{path: "/x", data: "@" + file}, method: "POST", body: `{"a": 1}`},
		{name: "stdin answer", pf: previewFlags{path: "/x", response: "@-"}, stdin: `"s"`, method: "GET", resp: `"s"`},
		{name: "both stdin", pf: previewFlags{path: "/x", data: "@-", response: "@-"}, err: "standard input"},
		{name: "not JSON", pf: previewFlags{path: "/x", data: "{"}, err: "-d: not valid JSON"},
		{name: "no file", pf: previewFlags{path: "/x", response: "@/nonexistent/a.json"}, err: "--response:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := tc.pf.input(strings.NewReader(tc.stdin))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("input() error = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil || in.Method != tc.method || string(in.Body) != tc.body || string(in.ResponseBody) != tc.resp {
				t.Errorf("input() = %+v (body %s, response %s), %v; want method %s, body %s, response %s", in, in.Body, in.ResponseBody, err, tc.method, tc.body, tc.resp)
			}
		})
	}
}

// TestPrintPreviewEscapes: a path from the server cannot send terminal
// escapes.
func TestPrintPreviewEscapes(t *testing.T) {
	var b strings.Builder
	p := wire.Preview{
		Request: wire.PreviewPhase{Mode: "encrypt", Fields: []string{"a\x1b[2Jb"}, Values: 1},
		Hints:   []wire.PreviewHint{{Path: "x\ny", Kind: "email", Reason: "r", Phase: "request"}},
	}
	if err := printPreview(&b, wire.PreviewInput{Method: "post", Path: "/p\x1b"}, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `a\x1b[2Jb`) || !strings.Contains(out, `x\ny`) || !strings.Contains(out, "No route matches POST /p") {
		t.Errorf("printPreview = %q, want control characters escaped", out)
	}
}
