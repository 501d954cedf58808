package admin

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/keystore"
)

// testKeyring seals with one fixed AES-256-GCM key.
type testKeyring struct{ aead cipher.AEAD }

func newTestKeyring(t *testing.T) testKeyring {
	block, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return testKeyring{aead}
}

func (k testKeyring) SealKey(int) (uint32, cipher.AEAD, error) { return 1, k.aead, nil }
func (k testKeyring) OpenKey(uint32) (cipher.AEAD, error)      { return k.aead, nil }

// encryptedPaths returns the concrete paths of the values fieldcrypt.Encrypt
// turns into tokens in doc: the reference the preview must agree with.
func encryptedPaths(t *testing.T, kr testKeyring, doc []byte, f fieldcrypt.Fields) []string {
	t.Helper()
	out, err := fieldcrypt.Encrypt(nil, doc, f, &fieldcrypt.Params{ProjectID: "prj_test", Keys: kr})
	if errors.Is(err, fieldcrypt.ErrFieldInArray) || errors.Is(err, fieldcrypt.ErrDottedKey) {
		// Refused: the preview must say so, for the same reason (and
		// transforms nothing).
		if perr := checkEncrypt(phasePlan{mode: keystore.ModeEncrypt, named: f.Names()}, doc, f); !errors.Is(perr, errors.Unwrap(err)) {
			t.Fatalf("fieldcrypt.Encrypt(%s, %v) = %v, the preview's check %v", doc, f.Names(), err, perr)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("fieldcrypt.Encrypt(%s, %v) = %v", doc, f.Names(), err)
	}
	root, err := decodeTree(out)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(n *jsonNode, at []step)
	walk = func(n *jsonNode, at []step) {
		if n.kind == '"' && fieldcrypt.IsToken([]byte(n.str)) {
			paths = append(paths, joinSteps(at, false))
			return
		}
		for i, kid := range n.kids {
			s := step{index: i}
			if n.kind == '{' {
				s = step{key: escapeForTest(n.keys[i]), index: -1}
			}
			walk(kid, append(at[:len(at):len(at)], s))
		}
	}
	walk(root, nil)
	return paths
}

func escapeForTest(k string) string {
	if k == "*" {
		return `\*`
	}
	r := strings.NewReplacer(`\`, `\\`, `.`, `\.`, `,`, `\,`)
	return r.Replace(k)
}

func previewPaths(t *testing.T, doc []byte, f fieldcrypt.Fields) []string {
	t.Helper()
	root, err := decodeTree(doc)
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := matchFields(root, parseFieldPaths(f))
	var out []string
	for _, tg := range targets {
		out = append(out, tg.concrete)
	}
	return out
}

// TestPreviewMatchesEncrypt: the values the preview says a field list
// transforms are exactly those fieldcrypt.Encrypt turns into tokens, on
// hand-picked cases (overlaps, arrays, escapes, empty containers) and on
// random documents and field lists.
func TestPreviewMatchesEncrypt(t *testing.T) {
	kr := newTestKeyring(t)
	cases := []struct{ doc, fields string }{
		{`{"user":{"email":"a","name":"b"}}`, "user.email"},
		{`{"tags":["a","b",["c"],{}],"n":1}`, "tags"},
		{`{"tags":[]}`, "tags"},
		{`{"o":{}}`, "o"},
		{`{"a":{"b":1},"c":2}`, "a,a.b"},
		{`{"items":[{"card":"1"},{"card":"2"},{"x":3}]}`, "items.*.card"},
		{`{"items":[{"card":"1"},{"card":"2"}]}`, "items.1.card"},
		{`{"m":{"0":"zero","1":"one"}}`, "m.0"},
		{`{"a.b":{"*":{"x,y":"v"}},"a":{"b":1}}`, `a\.b.\*.x\,y`},
		{`{"*":1,"k":2}`, `\*`},
		{`[{"t":1},{"t":2}]`, "*.t"},
		{`{"a":[[1,2],[3]]}`, "a.*"},
		{`{"a":[[1,2],[3]]}`, "a"},
		{`"scalar"`, "a"},
		{`{"profile":{"email":"a"},"x":1}`, `profile\.email`},
		{`{"a":{"b.c":1,"b":{"c":2}},"a.b":{"c":3},"a.b.c":4}`, `a\.b\.c`},
	}
	for _, tc := range cases {
		f, err := fieldcrypt.ParseFields(tc.fields)
		if err != nil {
			t.Fatal(err)
		}
		want, got := encryptedPaths(t, kr, []byte(tc.doc), f), previewPaths(t, []byte(tc.doc), f)
		if !slices.Equal(got, want) {
			t.Errorf("preview of %s with %s transforms %q, fieldcrypt.Encrypt %q", tc.doc, tc.fields, got, want)
		}
	}

	rng := rand.New(rand.NewPCG(3, 4))
	keys := []string{"a", "b", "c", "0", "1", "x.y", "*", "x", "y"} // x and y: x\.y's nested spelling
	segs := []string{"a", "b", "c", "0", "1", "*", `x\.y`, `\*`}
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(6); {
		case depth > 3 || k < 2:
			return []any{"s", 1, true, nil}[rng.IntN(4)]
		case k < 4:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[keys[rng.IntN(len(keys))]] = gen(depth + 1)
			}
			return m
		default:
			var l []any
			for range rng.IntN(4) {
				l = append(l, gen(depth+1))
			}
			if l == nil {
				l = []any{}
			}
			return l
		}
	}
	refused := 0
	defer func() {
		if refused > 1000 {
			t.Errorf("%d of 2000 random rounds refused (field_in_array, dotted keys): too few compare paths", refused)
		}
	}()
	for round := range 2000 {
		doc, err := json.Marshal(gen(0))
		if err != nil {
			t.Fatal(err)
		}
		var list []string
		for range 1 + rng.IntN(3) {
			var p []string
			for range 1 + rng.IntN(3) {
				p = append(p, segs[rng.IntN(len(segs))])
			}
			list = append(list, strings.Join(p, "."))
		}
		f, err := fieldcrypt.FieldsFromList(list)
		if err != nil {
			t.Fatal(err)
		}
		want := encryptedPaths(t, kr, doc, f)
		if want == nil && fieldcrypt.CheckEncrypt(doc, f) != nil {
			refused++
			continue // refused by both (checked by encryptedPaths)
		}
		if got := previewPaths(t, doc, f); !slices.Equal(got, want) {
			t.Fatalf("round %d: preview of %s with %q transforms %q, fieldcrypt.Encrypt %q", round, doc, list, got, want)
		}
	}
}

func TestPreviewExists(t *testing.T) {
	root, err := decodeTree([]byte(`{"a":{"b":[{"c":1}],"0":2},"*":3}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"a.b": true, "a.b.0.c": true, "a.b.1.c": false, "a.0": true, `\*`: true, "a.x": false, "a.b.c": false} {
		f, err := fieldcrypt.ParseFields(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := exists(root, parseFieldPaths(f)[0]); got != want {
			t.Errorf("exists(%s) = %v, want %v", path, got, want)
		}
	}
}

// TestPreviewStoredSubjectField: a route's subject_field stored before
// brackets and a * inside a key needed escapes is read as the data plane
// reads it, a key that holds them.
func TestPreviewStoredSubjectField(t *testing.T) {
	for field, body := range map[string]string{
		"user[id]":     `{"user[id]":"u-1"}`,
		"k*":           `{"k*":"u-1"}`,
		`user\[id\]`:   `{"user[id]":"u-1"}`,
		"profile.user": `{"profile":{"user":"u-1"}}`,
	} {
		root, err := decodeTree([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var out wire.PreviewPhase
		previewSubject(field, root, &out)
		if out.SubjectInvalid {
			t.Errorf("subject_field %q over %s: subject_invalid, want the subject found", field, body)
		}
	}
}

// TestPreviewBrokenRoute: a stored route that does not compile is the
// route a request matches (the proxy refuses its requests, 500
// route_unavailable), not skipped for the next one; a route saved with a
// legacy index rule compiles.
func TestPreviewBrokenRoute(t *testing.T) {
	routes := []keystore.Route{
		{ID: "rt_bad", Path: "/people/**", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"a..b"}}},
		{ID: "rt_next", Path: "/**", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}},
		{ID: "rt_legacy", Path: "/legacy", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"user[email]"},
			Index: []keystore.RouteIndex{{Field: "user[email]", Normalize: "lower_trim"}}}},
	}
	r := matchPreviewRoute(routes, "POST", "/people/1")
	if r == nil || r.ID != "rt_bad" || phaseCompiles(r.Request) {
		t.Errorf("matched %+v, want rt_bad, not compiling", r)
	}
	if !phaseCompiles(routes[2].Request) {
		t.Errorf("the route with a legacy index rule does not compile")
	}
	// A path of MaxDepth segments parses, but not under "*." as the proxy
	// compiles it for list bodies: the proxy finds the route broken.
	deep := strings.TrimSuffix(strings.Repeat("a.", fieldcrypt.MaxDepth), ".")
	if phaseCompiles(&keystore.RoutePhase{Mode: "decrypt", Fields: []string{deep}}) {
		t.Errorf("a path of %d segments compiles in the preview, not in the proxy", fieldcrypt.MaxDepth)
	}
}
