package pii

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func hintStrings(hs []Hint) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Path + " " + h.Kind
	}
	return out
}

func TestDetectPaths(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"nested", `{"user":{"contact":{"email":"a@example.com"}}}`, []string{"user.contact.email email"}},
		{"array indices as *", `{"items":[{"email":"a@example.com"},{"email":"b@example.com"}]}`, []string{"items.*.email email"}},
		{"top-level array", `[{"ip":"203.0.113.1"}]`, []string{"*.ip ip_address"}},
		{"whole document", `"ada@example.com"`, []string{" email"}},
		{"escaped keys", `{"a.b":{"*":{"x,y":"ada@example.com"}}}`, []string{`a\.b.\*.x\,y email`}},
		{"backslash key", `{"a\\b":"ada@example.com"}`, []string{`a\\b email`}},
		{"name on container", `{"billing_address":{"line1":"1 Main St","city":"Springfield"}}`, []string{"billing_address field_name:address"}},
		{"no name hint over a value hint", `{"address":{"line1":"1 Main St","contact":"ada@example.com"}}`, []string{"address.contact email"}},
		{"empty container", `{"address":{},"phones":[]}`, nil},
		{"null, bool, empty", `{"password":null,"email_verified":true,"email":"","ssn":" "}`, nil},
		{"several kinds in text", `{"note":"mail a@example.com or call +44 20 7946 0958"}`, []string{"note email", "note phone"}},
		{"token protects a named field", `{"password":"qanapi:bm9uZQ:v1:QUJD:$","ssn":"qanapi:cGlp:v2f:QUJD:$"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect([]byte(tc.doc), nil)
			if err != nil {
				t.Fatalf("Detect(%s) error = %v, want nil", tc.doc, err)
			}
			if g := hintStrings(got); !slices.Equal(g, tc.want) && !(len(g) == 0 && len(tc.want) == 0) {
				t.Errorf("Detect(%s) = %q, want %q", tc.doc, g, tc.want)
			}
		})
	}
}

// TestDetectCovered: covered sees concrete paths, outermost first, and a
// claimed value is skipped with everything inside it.
func TestDetectCovered(t *testing.T) {
	doc := `{"user":{"email":"a@example.com","phone":"+14155552671"},"items":[{"card":"4111111111111111"},{"card":"4242424242424242"}],"dob":"1990-01-01"}`
	var seen []string
	covered := map[string]bool{"user": true, "items.0.card": true, "dob": true}
	got, err := Detect([]byte(doc), func(p string) bool {
		seen = append(seen, p)
		return covered[p]
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSeen := []string{"", "user", "items", "items.0", "items.0.card", "items.1", "items.1.card", "dob"}
	if !slices.Equal(seen, wantSeen) {
		t.Errorf("covered called with %q, want %q", seen, wantSeen)
	}
	// items.1.card is not covered: the hint names items.*.card.
	if g, want := hintStrings(got), []string{"items.*.card card_number"}; !slices.Equal(g, want) {
		t.Errorf("Detect = %q, want %q", g, want)
	}
}

// TestDetectContainerClaimedByCoverage: a container whose inside is
// partly covered gets no field-name hint.
func TestDetectContainerClaimedByCoverage(t *testing.T) {
	doc := `{"address":{"line1":"1 Main St","city":"Springfield"}}`
	got, err := Detect([]byte(doc), func(p string) bool { return p == "address.line1" })
	if err != nil || len(got) != 0 {
		t.Errorf("Detect with address.line1 covered = %v, %v; want no hint", got, err)
	}
}

func TestDetectOncePerPathAndKind(t *testing.T) {
	doc := `{"emails":["a@example.com","b@example.com","c@example.com"]}`
	got, _ := Detect([]byte(doc), nil)
	if g, want := hintStrings(got), []string{"emails.* email"}; !slices.Equal(g, want) {
		t.Errorf("Detect = %q, want %q", g, want)
	}
}

func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestDetectLimits(t *testing.T) {
	many := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("1,", n), ",") + "]" }
	cases := []struct {
		name string
		doc  string
		want error
	}{
		{"depth 32", nested(MaxDepth), nil},
		{"depth 33", nested(MaxDepth + 1), ErrTooDeep},
		{"depth 33 under a covered value", `{"c":` + nested(MaxDepth) + `}`, ErrTooDeep},
		{"values at the limit", many(MaxValues - 1), nil},
		{"values over the limit", many(MaxValues), ErrTooManyValues},
		{"values over the limit, covered", `{"c":` + many(MaxValues) + `}`, ErrTooManyValues},
		{"too large", `"` + strings.Repeat("a", MaxBytes) + `"`, ErrTooLarge},
		{"trailing data", `{} {}`, ErrInvalidJSON},
		{"not JSON", `{"a":secret-value}`, ErrInvalidJSON},
		{"empty", ``, ErrInvalidJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect([]byte(tc.doc), func(p string) bool { return p == "c" })
			if !errors.Is(err, tc.want) {
				t.Fatalf("Detect error = %v, want %v", err, tc.want)
			}
			if err != nil && (got != nil || strings.Contains(err.Error(), "secret")) {
				t.Errorf("Detect = %v, %v; want no hints and no quote of the document", got, err)
			}
		})
	}
}

// TestDetectNeverEchoes: across the corpus, no hint's path or reason holds
// a value of the document (only keys and fixed phrases).
func TestDetectNeverEchoes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	for _, file := range files {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		hints, err := Detect(doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		values := stringValues(t, doc)
		for _, h := range hints {
			for _, v := range values {
				if strings.Contains(h.Reason, v) || strings.Contains(h.Path, v) || strings.Contains(h.Kind, v) {
					t.Errorf("%s: hint %+v holds the value %q", file, h, v)
				}
			}
		}
	}
}

// stringValues returns the string values of doc of at least 6 bytes that
// no object key holds (a path names keys).
func stringValues(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	keys, values := map[string]bool{}, []string{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys[k] = true
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			values = append(values, v)
		}
	}
	walk(v)
	var out []string
next:
	for _, s := range values {
		if len(s) < 6 {
			continue
		}
		for k := range keys {
			if strings.Contains(k, s) {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func TestHintsDoNotAlias(t *testing.T) {
	doc := []byte(`{"email":"ada@example.com"}`)
	hints, _ := Detect(doc, nil)
	copy(doc, strings.Repeat("x", len(doc)))
	if fmt.Sprint(hints) != "[{email email looks like an email address}]" {
		t.Errorf("hints after the document changed = %v, want them unchanged", hints)
	}
}
