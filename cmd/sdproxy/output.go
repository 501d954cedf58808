package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// printJSON writes raw JSON indented.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// printJSONList writes items as a JSON array.
func printJSONList(w io.Writer, items []json.RawMessage) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return printJSON(w, b)
}

// table writes aligned columns. Every cell goes through escapeCell, so a
// value from the server (a request path, a project or key name) cannot add
// rows or columns or send terminal escapes.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cols ...string) {
	esc := make([]string, len(cols))
	for i, c := range cols {
		esc[i] = escapeCell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(esc, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// escapeCell returns s with every character that could change how a
// terminal shows it replaced by a visible Go-style escape: C0 controls
// (\n, \r, \t, else \x1b …), DEL (\x7f), C1 controls (\u0080–\u009f),
// format characters that reorder or hide text (Unicode category Cf:
// zero-width and bidi marks, embeddings, overrides and isolates, the BOM,
// tag characters; e.g. \u202e), the line and paragraph separators
// \u2028 and \u2029, and each byte of invalid UTF-8 (\xff). Anything else,
// backslashes and non-ASCII letters included, is kept, so escaping twice
// changes nothing. It allocates only when something is escaped.
func escapeCell(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafeRune(r, n):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether escapeCell escapes r, decoded from n bytes.
func unsafeRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // invalid UTF-8
		return true
	case r < 0x20 || r == 0x7f: // C0, DEL
		return true
	case r < 0x80:
		return false
	case r <= 0x9f: // C1
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// fmtTime shows a time in UTC to the second, or "-" / "never".
func fmtTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printList fetches every page of a list and prints it as a table (one
// row per item of type T) or, with --output json, as a JSON array.
func printList[T any](cl *clientFlags, w io.Writer, path string, header []string, row func(T) []string) error {
	c, err := cl.client()
	if err != nil {
		return err
	}
	items, err := c.getAll(path)
	if err != nil {
		return err
	}
	if cl.output == "json" {
		return printJSONList(w, items)
	}
	t := newTable(w, header...)
	for _, raw := range items {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		t.row(row(v)...)
	}
	return t.flush()
}

// callAndShow sends one admin-API call and shows the record it answers:
// as indented JSON with --output json, else as a FIELD/VALUE table that
// rows fills.
func callAndShow[T any](cl *clientFlags, w io.Writer, method, path string, body any, rows func(T, *table)) error {
	c, err := cl.client()
	if err != nil {
		return err
	}
	raw, err := c.do(method, path, body)
	if err != nil {
		return err
	}
	if cl.output == "json" {
		return printJSON(w, raw)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	t := newTable(w, "FIELD", "VALUE")
	rows(v, t)
	return t.flush()
}
