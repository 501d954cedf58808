package deps

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sdproxy/sdproxy"

// rule says what one package may import of ours, and which outside
// imports it must not have.
type rule struct {
	may    []string // packages of this module it may import
	forbid []string // other import paths it must not use (prefixes)
	only   []string // if set, the only outside modules it may use besides the standard library (prefixes)
	why    string
}

// noHTTP is what a storage package must not import.
var noHTTP = []string{"net/http", "github.com/valyala/fasthttp"}

// rules covers every non-test package of the module; a new package fails
// the test until it is added here.
var rules = map[string]rule{
	"fieldcrypt":               {why: "the token format and field rewriting stand alone: the standard library (the single-pass scanner is the point) and, for Unicode's canonical equivalence of keys, x/text's normalisation tables", only: []string{"golang.org/x/text/unicode/norm"}},
	"config":                   {why: "the config schema is read only by cmd"},
	"keystore":                 {may: []string{"fieldcrypt", "internal/safefile"}, why: "the store knows no HTTP and no config; it validates route field paths with fieldcrypt's parser; its etcd engine uses the etcd client", forbid: noHTTP},
	"events":                   {may: []string{"internal/safefile"}, why: "the event log knows no HTTP and no config", forbid: noHTTP},
	"internal/safefile":        {why: "opening data files safely: the standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"metrics":                  {may: []string{"events"}, why: "metrics read the event log's records"},
	"internal/httpapi":         {why: "the HTTP helpers know nothing of the store, the log or the crypto"},
	"internal/authfail":        {may: []string{"events"}, why: "bounds failed authentications per client IP for the data and admin listeners and summarises them as events: no HTTP", forbid: noHTTP},
	"internal/bodycodec":       {why: "body decoding stands alone: the standard library and the compression libraries fasthttp already uses", only: []string{"github.com/klauspost/compress/", "github.com/molecule-man/go-brrr"}},
	"internal/testclock":       {why: "a test clock stands alone"},
	"internal/testpki":         {why: "certificates for tests: the standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"internal/etcdtest":        {may: []string{"internal/testport"}, why: "starts real etcd servers for tests and checks their health over HTTP: the standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"internal/e2e":             {may: []string{"internal/testport"}, why: "the end-to-end harness drives the binary from outside"},
	"internal/testport":        {why: "picks ports for the servers tests start: the standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"internal/faults":          {why: "the fault suite (tests behind the faults tag) drives the binary from outside; its package file imports nothing"},
	"internal/deps":            {why: "this test"},
	"admin/wire":               {why: "the admin API's wire types are plain data the CLI shares", forbid: []string{"github.com/"}},
	"admin":                    {may: []string{"admin/wire", "internal/httpapi", "internal/authfail", "internal/routematch", "keystore", "events", "fieldcrypt", "pii"}, why: "the control plane: admin API over the store and the event log; its preview matches routes and fields as the data plane does and runs the PII detector"},
	"proxy":                    {may: []string{"internal/httpapi", "internal/authfail", "internal/bodycodec", "internal/routematch", "keystore", "fieldcrypt", "events"}, why: "the data plane: no admin API, no config", forbid: []string{"encoding/json", "reflect"}},
	"pii":                      {why: "the PII detector stands alone: pure functions over the standard library", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"internal/routematch":      {why: "route matching is shared by the data plane and the admin preview: standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
	"console":                  {may: []string{"internal/httpapi"}, why: "the console talks to the rest only through the admin API, in the browser"},
	"demo":                     {why: "the demo store is a stand-alone upstream"},
	"cmd/sdproxy":              {may: []string{"*"}, why: "cmd wires everything"},
	"tools/loadtest/bareproxy": {why: "a baseline must not share sdproxy's code"},
	"tools/loadtest/upstream":  {why: "a baseline must not share sdproxy's code"},
	"tools/flood":              {why: "an attacker talks to sdproxy only over the network"},
	"tools/loadtest/perfsplit": {why: "reads perf's text output: the standard library only", forbid: []string{"github.com/", "golang.org/", "go.etcd.io/"}},
}

// TestImportRules parses every non-test Go file of the module and checks
// its imports against rules.
func TestImportRules(t *testing.T) {
	root := moduleRoot(t)
	imports := packageImports(t, root)
	if len(imports) < len(rules)-1 {
		t.Fatalf("found %d packages under %s, want at least %d", len(imports), root, len(rules)-1)
	}
	for pkg, imps := range imports {
		r, ok := rules[pkg]
		if !ok {
			t.Errorf("package %s has no import rule: add it to rules in internal/deps/deps_test.go", pkg)
			continue
		}
		for _, imp := range imps {
			if msg := check(pkg, r, imp); msg != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, msg)
			}
		}
	}
}

// check returns why pkg must not import imp, or "".
func check(pkg string, r rule, imp string) string {
	if own, ok := strings.CutPrefix(imp, module+"/"); ok {
		if slices.Contains(r.may, "*") || slices.Contains(r.may, own) {
			return ""
		}
		return "not allowed (" + r.why + ")"
	}
	for _, f := range r.forbid {
		if underPrefix(imp, f) {
			return "forbidden (" + r.why + ")"
		}
	}
	if r.only == nil || !strings.Contains(strings.Split(imp, "/")[0], ".") { // the standard library's paths have no dot
		return ""
	}
	for _, o := range r.only {
		if underPrefix(imp, o) {
			return ""
		}
	}
	return "not in the allowed modules (" + r.why + ")"
}

// underPrefix reports whether imp is the import path prefix or below it; a
// prefix ending in "/" matches only below it.
func underPrefix(imp, prefix string) bool {
	return imp == prefix || strings.HasPrefix(imp, prefix) && (strings.HasSuffix(prefix, "/") || strings.HasPrefix(imp[len(prefix):], "/"))
}

// TestCheck shows the rule test failing on forbidden imports.
func TestCheck(t *testing.T) {
	cases := []struct {
		pkg, imp string
		bad      bool
	}{
		{"proxy", module + "/admin", true},
		{"proxy", module + "/config", true},
		{"proxy", "encoding/json", true},
		{"proxy", module + "/fieldcrypt", false},
		{"keystore", "github.com/valyala/fasthttp", true},
		{"keystore", "net/http", true},
		{"keystore", "net/http/httptest", true},
		{"keystore", "net/netip", false},
		{"keystore", module + "/proxy", true},
		{"fieldcrypt", module + "/keystore", true},
		{"fieldcrypt", "github.com/tidwall/gjson", true},
		{"fieldcrypt", "crypto/cipher", false},
		{"events", module + "/keystore", true},
		{"admin", module + "/proxy", true},
		{"admin", module + "/keystore", false},
		{"admin", module + "/pii", false},
		{"admin", module + "/fieldcrypt", false},
		{"pii", module + "/fieldcrypt", true},
		{"pii", "github.com/tidwall/gjson", true},
		{"pii", "net/netip", false},
		{"internal/routematch", module + "/keystore", true},
		{"proxy", module + "/internal/routematch", false},
		{"admin/wire", "github.com/sdproxy/sdproxy/keystore", true},
		{"cmd/sdproxy", module + "/config", false},
		{"internal/bodycodec", "compress/gzip", false},
		{"internal/bodycodec", "github.com/klauspost/compress/gzip", false},
		{"internal/bodycodec", "github.com/molecule-man/go-brrr", false},
		{"internal/bodycodec", "github.com/valyala/fasthttp", true},
		{"internal/bodycodec", "github.com/klauspost/compressx", true},
		{"internal/bodycodec", module + "/fieldcrypt", true},
	}
	for _, tc := range cases {
		if got := check(tc.pkg, rules[tc.pkg], tc.imp) != ""; got != tc.bad {
			t.Errorf("check(%s imports %s) refused = %v, want %v", tc.pkg, tc.imp, got, tc.bad)
		}
	}
}

// TestOnlyCmdReadsEnvironment: libraries take options; only cmd (and the
// test harness) read the environment.
func TestOnlyCmdReadsEnvironment(t *testing.T) {
	root := moduleRoot(t)
	walkGo(t, root, func(pkg, path string, src []byte) {
		if pkg == "cmd/sdproxy" || pkg == "config" || pkg == "internal/e2e" || strings.HasPrefix(pkg, "tools/") {
			return
		}
		for _, fn := range []string{"os.Getenv(", "os.LookupEnv(", "os.Environ("} {
			if strings.Contains(string(src), fn) {
				t.Errorf("%s calls %s: only cmd/sdproxy reads the environment", path, strings.TrimSuffix(fn, "("))
			}
		}
	})
}

// packageImports maps each package (path relative to the module) to the
// imports of its non-test files.
func packageImports(t *testing.T, root string) map[string][]string {
	out := map[string][]string{}
	walkGo(t, root, func(pkg, path string, src []byte) {
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[pkg] = append(out[pkg], p)
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
	})
	return out
}

// walkGo calls fn for every non-test Go file of the module outside
// testdata.
func walkGo(t *testing.T, root string, fn func(pkg, path string, src []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		fn(filepath.ToSlash(rel), path, src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
