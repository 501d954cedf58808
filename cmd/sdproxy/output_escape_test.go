package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestEscapeCell(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"ascii", "GET /proxy/prj_1/posts?x=1", "GET /proxy/prj_1/posts?x=1"},
		{"backslash unchanged", `C:\tmp\n`, `C:\tmp\n`},
		{"accented letters", "café résumé", "café résumé"},
		{"cjk", "中文名称", "中文名称"},
		{"emoji", "key 🔑", "key 🔑"},
		{"replacement char itself", "a\uFFFDb", "a\uFFFDb"},
		{"newline", "a\nb", `a\nb`},
		{"carriage return", "a\rb", `a\rb`},
		{"tab", "a\tb", `a\tb`},
		{"nul", "a\x00b", `a\x00b`},
		{"escape sequence", "x\x1b[2Ky", `x\x1b[2Ky`},
		{"osc title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"unit separator", "\x1f", `\x1f`},
		{"del", "a\x7fb", `a\x7fb`},
		{"c1 first", "a\u0080b", `a\u0080b`},
		{"c1 csi", "a\u009b2Kb", `a\u009b2Kb`},
		{"c1 last", "\u009f", `\u009f`},
		{"nbsp unchanged", "a\u00a0b", "a\u00a0b"},
		{"zero width space", "a\u200bb", `a\u200bb`},
		{"zero width joiner", "\u200d", `\u200d`},
		{"rtl mark", "\u200f", `\u200f`},
		{"lre", "\u202a", `\u202a`},
		{"rlo", "evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"lri", "\u2066", `\u2066`},
		{"pdi", "\u2069", `\u2069`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"paragraph separator", "a\u2029b", `a\u2029b`},
		{"bom", "\ufeffname", `\ufeffname`},
		{"arabic letter mark", "\u061c", `\u061c`},
		{"tag character", "a\U000E0041b", `a\U000e0041b`},
		{"invalid byte", "a\xffb", `a\xffb`},
		{"truncated utf-8", "a\xe4\xb8", `a\xe4\xb8`},
		{"forged row", "/x\n2025-01-01 00:00:00Z  request\x1b[2K", `/x\n2025-01-01 00:00:00Z  request\x1b[2K`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := escapeCell(tc.in); got != tc.want {
				t.Errorf("escapeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := escapeCell(tc.want); got != tc.want {
				t.Errorf("escapeCell(%q) = %q, want it unchanged (escaping twice changes nothing)", tc.want, got)
			}
		})
	}
}

func TestEscapeCellAllocs(t *testing.T) {
	s := "GET /proxy/prj_1/posts café 中文"
	if n := testing.AllocsPerRun(100, func() { escapeCell(s) }); n != 0 {
		t.Errorf("escapeCell(%q) allocates %v times, want 0", s, n)
	}
}

// TestTableForgedRow: a server-provided cell holding a newline, a tab and
// terminal escapes stays inside its own row and column.
func TestTableForgedRow(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "ID", "PATH", "STATUS")
	tb.row("evt_1", "/proxy/prj_1/x\nevt_0\t/admin\t200\x1b[2K\x1b[1A", "200")
	tb.row("evt_2", "/proxy/prj_1/\u202eok", "404")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table with a forged row printed %d lines, want 3 (header and two rows):\n%s", len(lines), out)
	}
	if strings.ContainsAny(out, "\x1b\t\u202e") {
		t.Errorf("table output = %q, want no ESC, tab or bidi override", out)
	}
	if !strings.Contains(lines[1], `/proxy/prj_1/x\nevt_0\t/admin\t200\x1b[2K\x1b[1A`) {
		t.Errorf("forged row = %q, want the path shown escaped", lines[1])
	}
	// The STATUS column still lines up: each row ends with its own status.
	for i, want := range []string{"STATUS", "200", "404"} {
		if f := strings.Fields(lines[i]); f[len(f)-1] != want {
			t.Errorf("line %d = %q, want it to end with the column value %q", i, lines[i], want)
		}
	}
	if col := strings.Index(lines[0], "STATUS"); col < 0 || !strings.HasSuffix(lines[2], "  404") || strings.Index(lines[2], "404") != col {
		t.Errorf("table =\n%s\nwant STATUS values aligned under the header", out)
	}
}
