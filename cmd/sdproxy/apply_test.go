package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
)

// runCmd runs the CLI with stdin and returns what it printed and its exit code.
func runCmd(t *testing.T, env fakeEnv, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb, env.get)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		errb.WriteString("sdproxy: " + err.Error() + "\n")
		return out.String(), errb.String(), 1
	}
	return out.String(), errb.String(), 0
}

// applyOK runs apply (or export) and fails the test unless it exits 0.
func applyOK(t *testing.T, f *fakeAdmin, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := runCmd(t, f.env(), stdin, args...)
	if code != 0 {
		t.Fatalf("sdproxy %s = exit %d, stdout %q, stderr %q, want exit 0", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestApplyPlanOutput(t *testing.T) {
	blog := wire.ProjectInput{Name: ptr("Blog"), Upstream: ptr("http://a.example")}
	pii := wire.Classification{Slug: "pii", Name: "PII", Mask: defaultMask()}
	posts := wire.RouteInput{Methods: []string{"PUT", "POST"}, Path: "/posts/**", Order: 10,
		Request: &wire.RuleInput{Mode: "encrypt", Fields: []string{"title"}, Classification: "pii"}}
	cases := []struct {
		name  string
		seed  func(f *fakeAdmin)
		file  string
		flags []string
		want  string
	}{
		{
			name: "new project: everything created",
			file: `
projects:
  - name: Blog
    upstream: http://A.example/
    classifications: [{slug: pii}]
    routes:
      - {methods: [post], path: /posts/**, request: {mode: ENCRYPT, fields: [" title "], classification: pii}}
`,
			want: `+ project "Blog": create
      upstream: "http://a.example"
  + classification pii: create
        name: "pii"
        description: ""
        mask.show_first: 0
        mask.show_last: 4
        mask.char: "*"
  + route POST /posts/**: create
        order: 0
        request: {"mode":"encrypt","fields":["title"],"classification":"pii","require":[]}

Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.
`,
		},
		{
			name: "update: a diff per field",
			seed: func(f *fakeAdmin) { f.seed(blog, []wire.Classification{pii}, posts) },
			file: `
projects:
  - name: Blog
    upstream: http://b.example
    rate_limit: {requests_per_second: 100, burst: 400}
    classifications: [{slug: pii, name: Personal data, mask: {show_last: 2}}]
    routes:
      - methods: [POST, PUT]
        path: /posts/**
        order: 20
        request: {mode: encrypt, fields: [title, body], classification: pii}
        response: {fields: [title]}
`,
			want: `~ project "Blog" (prj_000000000001): update
      upstream: "http://a.example" → "http://b.example"
      rate_limit.burst: 200 → 400
  ~ classification pii: update
        name: "PII" → "Personal data"
        mask.show_last: 4 → 2
  ~ route POST,PUT /posts/** (rt_000000000002): update
        order: 10 → 20
        request.fields: ["title"] → ["title","body"]
        response: null → {"mode":"decrypt","fields":["title"]}

Plan: 0 to create, 3 to update, 0 to delete, 0 unchanged.
`,
		},
		{
			name: "unchanged; what the file does not name is kept",
			seed: func(f *fakeAdmin) {
				f.seed(blog, []wire.Classification{pii, {Slug: "old", Name: "old", Mask: defaultMask()}}, posts,
					wire.RouteInput{Path: "/legacy"})
				f.seed(wire.ProjectInput{Name: ptr("Other")}, nil)
			},
			file: `
projects:
  - name: Blog
    classifications: [{slug: pii, name: PII}]
    routes: [{methods: [POST, PUT], path: /posts/**, order: 10, request: {mode: encrypt, fields: [title], classification: pii}}]
`,
			want: `= project "Blog" (prj_000000000001): unchanged
  = classification pii: unchanged
  ! classification old: not in the file (kept; --prune deletes)
  = route POST,PUT /posts/** (rt_000000000002): unchanged
  ! route any /legacy (rt_000000000003): not in the file (kept; --prune deletes)
! project "Other" (prj_000000000004): not in the file (kept; --prune deletes)

Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged, 3 not in the file (kept; --prune deletes).
`,
		},
		{
			name: "--prune deletes what the file does not name",
			seed: func(f *fakeAdmin) {
				f.seed(blog, []wire.Classification{pii, {Slug: "old", Name: "old", Mask: defaultMask()}}, posts,
					wire.RouteInput{Path: "/legacy"})
				f.seed(wire.ProjectInput{Name: ptr("Other")}, nil)
			},
			flags: []string{"--prune", "--dry-run"},
			file: `
projects:
  - name: Blog
    classifications: [{slug: pii, name: PII}]
    routes: [{methods: [PUT, post], path: /posts/**, order: 10, request: {mode: encrypt, fields: [title], classification: pii}}]
`,
			want: `= project "Blog" (prj_000000000001): unchanged
  = classification pii: unchanged
  - classification old: delete
  = route POST,PUT /posts/** (rt_000000000002): unchanged
  - route any /legacy (rt_000000000003): delete
- project "Other" (prj_000000000004): delete

Plan: 0 to create, 0 to update, 3 to delete, 3 unchanged.
`,
		},
		{
			name: "a route loses its request rule",
			seed: func(f *fakeAdmin) { f.seed(blog, []wire.Classification{pii}, posts) },
			file: `
projects:
  - name: Blog
    routes: [{methods: [POST, PUT], path: /posts/**, order: 10}]
`,
			want: `= project "Blog" (prj_000000000001): unchanged
  ! classification pii: not in the file (kept; --prune deletes)
  ~ route POST,PUT /posts/** (rt_000000000002): update
        request: {"mode":"encrypt","fields":["title"],"classification":"pii","require":[]} → null

Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged, 1 not in the file (kept; --prune deletes).
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAdmin(t)
			if tc.seed != nil {
				tc.seed(f)
			}
			file := writeFile(t, t.TempDir(), "p.yaml", tc.file)
			out := applyOK(t, f, "", append([]string{"apply", "-f", file, "--dry-run"}, tc.flags...)...)
			if got, want := out, tc.want+"Dry run: nothing was changed.\n"; got != want {
				t.Errorf("sdproxy apply --dry-run plan =\n%s\nwant\n%s", got, want)
			}
			if n := f.writeCount(); n != 0 {
				t.Errorf("sdproxy apply --dry-run made %d writes (%v), want none", n, f.writes)
			}
		})
	}
}

// examples are the example policy files shipped in testdata.
func examples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "policy", "*"))
	if err != nil || len(files) < 2 {
		t.Fatalf("example policy files = %v (%v), want at least 2", files, err)
	}
	return files
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	f := newFakeAdmin(t)
	f.seed(wire.ProjectInput{Name: ptr("Blog"), Environment: ptr("production"), Upstream: ptr("http://old.example")}, nil,
		wire.RouteInput{Methods: []string{"GET"}, Path: "/posts/**", Order: 1})
	for _, file := range examples(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			applyOK(t, f, "", "apply", "-f", file)
			before := f.writeCount()
			out := applyOK(t, f, "", "apply", "-f", file)
			if n := f.writeCount() - before; n != 0 {
				t.Errorf("second sdproxy apply -f %s made %d writes (%v), want none", file, n, f.writes[before:])
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "= ") || strings.HasPrefix(strings.TrimSpace(line), "! ") {
					continue
				}
				if strings.HasPrefix(line, "Plan:") && !strings.HasPrefix(line, "Plan: 0 to create, 0 to update, 0 to delete") {
					t.Errorf("second sdproxy apply -f %s plan says %q, want nothing to do", file, line)
				}
				if regexp.MustCompile(`^\s*[+~-] `).MatchString(line) {
					t.Errorf("second sdproxy apply -f %s plan has %q, want every object unchanged", file, line)
				}
			}
			if !strings.HasSuffix(out, "Nothing to change.\n") {
				t.Errorf("second sdproxy apply -f %s = %q, want it to end with Nothing to change.", file, out)
			}
		})
	}
}

func TestExportApplyIsANoOp(t *testing.T) {
	f := newFakeAdmin(t)
	f.seed(wire.ProjectInput{Name: ptr(`Odd: "name" #1`), Environment: ptr("staging"), Upstream: ptr("https://x.example/base"),
		Destinations: &[]string{"https://p.example:443", "http://q.example:8080"}, RateLimit: &wire.RateLimit{RequestsPerSecond: 0.25, Burst: 1},
		MaxActiveKeys: ptr(1000), BindFields: ptr(true)},
		[]wire.Classification{
			{Slug: "pii", Name: "yes", Description: "multi\nline: text", Mask: wire.Mask{ShowFirst: 1, ShowLast: 100, Char: "•"}},
			{Slug: "no", Name: "123", Mask: wire.Mask{ShowLast: 4, Char: "#"}},
		},
		wire.RouteInput{Methods: []string{"POST", "GET", "X-CUSTOM"}, Path: "/a/*/b/**", Order: -1000000000,
			Request:  &wire.RuleInput{Mode: "decrypt", Fields: []string{`a\.b`, "*.c", "items.0.card", "null", "true"}, Require: []string{`a.\*`}},
			Response: &wire.RuleInput{Mode: "encrypt", Fields: []string{"*"}}},
		wire.RouteInput{Path: "/", Order: 1000000000},
		wire.RouteInput{Path: "/- a/&b/!c/'d\"/ e: f/[g]", Request: &wire.RuleInput{Mode: "encrypt", Fields: []string{"x"}, Classification: "no", SubjectField: `user.id\.x`}},
	)
	f.seed(wire.ProjectInput{Name: ptr("Plain")}, nil)
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			exported := applyOK(t, f, "", "export", "-o", format)
			file := writeFile(t, t.TempDir(), "export."+format, exported)
			before := f.writeCount()
			out := applyOK(t, f, "", "apply", "-f", file, "--prune")
			if n := f.writeCount() - before; n != 0 {
				t.Errorf("sdproxy apply --prune of its own export made %d writes (%v), want none; plan:\n%s", n, f.writes[before:], out)
			}

			// The same file builds the same state on an empty server.
			empty := newFakeAdmin(t)
			applyOK(t, empty, "", "apply", "-f", file)
			if again := applyOK(t, empty, "", "export", "-o", format); again != exported {
				t.Errorf("export after applying an export to an empty server =\n%s\nwant\n%s", again, exported)
			}
		})
	}
	if out := applyOK(t, f, "", "export", "--project", "Plain"); !strings.Contains(out, "name: Plain") || strings.Contains(out, "Odd") {
		t.Errorf("sdproxy export --project Plain = %q, want Plain alone", out)
	}
}

func TestExportRefusals(t *testing.T) {
	f := newFakeAdmin(t)
	a := f.seed(wire.ProjectInput{Name: ptr("Twin")}, nil)
	b := f.seed(wire.ProjectInput{Name: ptr("Twin")}, nil)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"export"}, []string{"2 projects are named \"Twin\"", a, b}},
		{[]string{"export", "--project", "Nope"}, []string{"no project is named \"Nope\""}},
		{[]string{"export", "-o", "table"}, []string{"--output must be yaml or json"}},
	} {
		_, stderr, code := runCmd(t, f.env(), "", tc.args...)
		for _, w := range tc.want {
			if code != 1 || !strings.Contains(stderr, w) {
				t.Errorf("sdproxy %s = exit %d, stderr %q, want exit 1 mentioning %q", strings.Join(tc.args, " "), code, stderr, w)
			}
		}
	}
}

func TestApplyPrune(t *testing.T) {
	seed := func(f *fakeAdmin) {
		f.seed(wire.ProjectInput{Name: ptr("Blog")}, []wire.Classification{{Slug: "old", Mask: defaultMask()}},
			wire.RouteInput{Path: "/keep"}, wire.RouteInput{Path: "/legacy"})
		f.seed(wire.ProjectInput{Name: ptr("Other")}, nil)
	}
	file := writeFile(t, t.TempDir(), "p.yaml", "projects: [{name: Blog, routes: [{path: /keep}]}]\n")

	f := newFakeAdmin(t)
	seed(f)
	before := f.snapshot()
	out := applyOK(t, f, "", "apply", "-f", file)
	if f.snapshot() != before || f.writeCount() != 0 {
		t.Errorf("sdproxy apply without --prune changed the server (%v), want what the file does not name kept", f.writes)
	}
	if n := strings.Count(out, "not in the file (kept; --prune deletes)"); n != 4 {
		t.Errorf("sdproxy apply without --prune = %q, want 3 objects listed as kept and the summary", out)
	}

	f = newFakeAdmin(t)
	seed(f)
	applyOK(t, f, "", "apply", "-f", file, "--prune")
	want := []string{"DELETE /admin/v1/projects/prj_000000000001/routes/rt_000000000003",
		"DELETE /admin/v1/projects/prj_000000000001/classifications/old", "DELETE /admin/v1/projects/prj_000000000004"}
	if !slices.Equal(f.writes, want) {
		t.Errorf("sdproxy apply --prune writes = %q, want %q", f.writes, want)
	}
	if out := applyOK(t, f, "", "export"); strings.Contains(out, "legacy") || strings.Contains(out, "Other") || strings.Contains(out, "old") {
		t.Errorf("export after --prune = %s, want only what the file names", out)
	}
}

func TestApplyDryRunWritesNothing(t *testing.T) {
	f := newFakeAdmin(t)
	f.seed(wire.ProjectInput{Name: ptr("Gone")}, nil, wire.RouteInput{Path: "/x"})
	before := f.snapshot()
	for _, file := range examples(t) {
		out := applyOK(t, f, "", "apply", "-f", file, "--dry-run", "--prune")
		if !strings.HasSuffix(out, "Dry run: nothing was changed.\n") || !strings.Contains(out, "+ project") {
			t.Errorf("sdproxy apply --dry-run -f %s = %q, want a plan and the dry-run note", file, out)
		}
	}
	if f.writeCount() != 0 || f.snapshot() != before {
		t.Errorf("sdproxy apply --dry-run made writes %v, want none", f.writes)
	}
}

func TestApplyFileProblems(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string // each a line of stderr, after "p.yaml:"
	}{
		{"keys in a project", "projects:\n  - name: A\n    keys:\n      - name: k\n",
			[]string{"3: projects[0].keys: API keys are never part of a policy file"}},
		{"keys at the top", "projects: []\nkeys: []\n", []string{"2: keys: API keys are never part of a policy file"}},
		{"unknown key", "projects:\n  - name: A\n    upstreams: http://x\n",
			[]string{"3: projects[0].upstreams: unknown field (want one of name, environment"}},
		{"wrong type", "projects:\n  - name: A\n    max_active_keys: ten\n",
			[]string{`3: projects[0].max_active_keys: want a whole number, got the string "ten"`}},
		{"number as a name", "projects:\n  - name: 12\n", []string{"2: projects[0].name: want a string, got a number (12)"}},
		{"octal-looking number", "projects:\n  - name: A\n    max_active_keys: 010\n",
			[]string{`3: projects[0].max_active_keys: write whole numbers in decimal without leading zeros or underscores, not "010"`}},
		{"hex number", "projects:\n  - name: A\n    routes:\n      - path: /a\n        order: 0x0a\n",
			[]string{`5: projects[0].routes[0].order: write whole numbers in decimal`}},
		{"number with underscores", "projects:\n  - name: A\n    max_active_keys: 1_0\n",
			[]string{`3: projects[0].max_active_keys: write whole numbers in decimal`}},
		{"bad slug", "projects:\n  - name: A\n    classifications:\n      - slug: PII\n",
			[]string{`4: projects[0].classifications[0].slug: "PII" is not a slug`}},
		{"built-in slug", "projects:\n  - name: A\n    classifications: [{slug: none}]\n",
			[]string{`3: projects[0].classifications[0].slug: "none" is built in`}},
		{"bad field path", "projects:\n  - name: A\n    routes:\n      - path: /a\n        request:\n          mode: encrypt\n          fields:\n            - ok\n            - a..b\n",
			[]string{`9: projects[0].routes[0].request.fields[1]: "a..b" is not a field path`}},
		{"bad mode", "projects:\n  - name: A\n    routes:\n      - path: /a\n        response: {mode: reveal, fields: [x]}\n",
			[]string{`5: projects[0].routes[0].response.mode: must be encrypt or decrypt, not "reveal"`}},
		{"request without mode", "projects:\n  - name: A\n    routes:\n      - path: /a\n        request: {fields: [x]}\n",
			[]string{`5: projects[0].routes[0].request.mode: is required`}},
		{"bad method", "projects:\n  - name: A\n    routes:\n      - path: /a\n        methods: [GET, \"GET POST\"]\n",
			[]string{`5: projects[0].routes[0].methods[1]: "GET POST" is not an HTTP method`}},
		{"bad path", "projects:\n  - name: A\n    routes:\n      - path: posts/**\n", []string{`4: projects[0].routes[0].path: must start with "/"`}},
		{"wildcard in require", "projects:\n  - name: A\n    routes:\n      - path: /a\n        request: {mode: encrypt, fields: [x], require: [a.*]}\n",
			[]string{`5: projects[0].routes[0].request.require[0]: "a.*" has a * segment`}},
		{"wildcard in subject_field", "projects:\n  - name: A\n    routes:\n      - path: /a\n        request: {mode: encrypt, fields: [x], subject_field: a.*}\n",
			[]string{`5: projects[0].routes[0].request.subject_field: "a.*" has a * segment`}},
		{"subject_field on decrypt", "projects:\n  - name: A\n    routes:\n      - path: /a\n        request: {mode: decrypt, fields: [x], subject_field: id}\n",
			[]string{`5: projects[0].routes[0].request.subject_field: only an encrypting request rule takes a subject_field`}},
		{"classification on a response", "projects:\n  - name: A\n    routes:\n      - path: /a\n        response: {fields: [x], classification: pii}\n",
			[]string{`5: projects[0].routes[0].response.classification: unknown field`}},
		{"no fields", "projects:\n  - name: A\n    routes:\n      - path: /a\n        response: {fields: []}\n",
			[]string{`5: projects[0].routes[0].response.fields: must name at least one field path`}},
		{"mask char", "projects:\n  - name: A\n    classifications:\n      - slug: a\n        mask: {char: \"**\"}\n",
			[]string{`5: projects[0].classifications[0].mask.char: must be exactly one character`}},
		{"environment", "projects:\n  - name: A\n    environment: prod\n", []string{`3: projects[0].environment: must be one of development, staging, production`}},
		{"upstream", "projects:\n  - name: A\n    upstream: ftp://x\n", []string{`3: projects[0].upstream: must be an absolute http or https URL`}},
		{"rate limit half given", "projects:\n  - name: A\n    rate_limit:\n      burst: 5\n", []string{`3: projects[0].rate_limit.requests_per_second: is required`}},
		{"twice the same project", "projects:\n  - name: A\n  - name: B\n  - name: A\n", []string{`4: projects[2].name: project "A" is declared twice (first on line 2)`}},
		{"twice the same route", "projects:\n  - name: A\n    routes:\n      - {path: /a, methods: [GET, POST]}\n      - {path: /a, methods: [post, get]}\n",
			[]string{`5: projects[0].routes[1]: route GET,POST /a is declared twice (first on line 4)`}},
		{"twice the same member", "projects:\n  - name: A\n    name: B\n", []string{`3: projects[0].name: given twice (first on line 2)`}},
		{"version", "version: 2\nprojects: []\n", []string{`1: version: must be 1, the only version there is`}},
		{"no projects", "version: 1\n", []string{`1: projects: is required`}},
		{"not YAML", "projects:\n  - name: A\n    upstream: x: y\n", []string{`3: not valid YAML: mapping values are not allowed in this context`}},
		{"not JSON", "{\"projects\": [\n {\"name\": \"A\",}\n]}\n", []string{`2: not valid JSON`}},
		{"empty", "", []string{` empty file`}},
		{"every problem at once", "projects:\n  - name: A\n    keys: []\n    routes:\n      - path: x\n      - path: /y\n        order: 1.5\n",
			[]string{"3: projects[0].keys:", "5: projects[0].routes[0].path:", "7: projects[0].routes[1].order: want a whole number"}},
	}
	env := fakeEnv{config.EnvAdminToken: "t", config.EnvAdminAddr: "http://" + closedAddr(t)}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, t.TempDir(), "p.yaml", tc.file)
			_, stderr, code := runCmd(t, env, "", "apply", "-f", file)
			if code != 1 {
				t.Fatalf("sdproxy apply -f (%s) = exit %d, want 1", tc.name, code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, file+":"+w) {
					t.Errorf("sdproxy apply -f (%s) stderr =\n%s\nwant a line with %q", tc.name, stderr, file+":"+w)
				}
			}
			if n := strings.Count(stderr, "\n"); n != len(tc.want)+1 {
				t.Errorf("sdproxy apply -f (%s) stderr =\n%s\nwant %d problems and the summary", tc.name, stderr, len(tc.want))
			}
			if !strings.Contains(stderr, "nothing was applied") || strings.Contains(stderr, "cannot reach") {
				t.Errorf("sdproxy apply -f (%s) stderr = %q, want the file refused before the server is asked", tc.name, stderr)
			}
		})
	}
}

// A file of nested aliases is refused once it has walked its budget of
// values, and that is then its only problem.
func TestPolicyAliasBudget(t *testing.T) {
	// 200 copies of a project of 200 routes: 40,000 values and more.
	laughs := "projects:\n  - &p {name: A, routes: [&r {path: /a}" + strings.Repeat(", *r", 199) + "]}\n" + strings.Repeat("  - *p\n", 199)
	_, err := decodePolicyWithin("p.yaml", []byte(laughs), 10000)
	var pl *problemList
	if !errors.As(err, &pl) || len(pl.List) != 1 || !strings.Contains(pl.List[0].Msg, "more than 10000 values") {
		t.Errorf("decodePolicyWithin(nested aliases, 10000) = %v, want one problem: too many values", err)
	}
	if _, err := decodePolicyWithin("p.yaml", []byte(laughs), 100000); err == nil || strings.Contains(err.Error(), "values") {
		t.Errorf("decodePolicyWithin(nested aliases, 100000) = %v, want the file's own problems (routes declared twice)", err)
	}
}

func TestApplyShowsAHundredProblems(t *testing.T) {
	file := writeFile(t, t.TempDir(), "p.yaml", "projects:\n  - name: A\n    routes:\n"+strings.Repeat("      - path: x\n", 150))
	_, stderr, code := runCmd(t, fakeEnv{config.EnvAdminToken: "t", config.EnvAdminAddr: "http://" + closedAddr(t)}, "", "apply", "-f", file)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != 1 || len(lines) != 102 || lines[100] != "… and 50 more" || !strings.HasSuffix(lines[101], "150 problems; nothing was applied") {
		t.Errorf("sdproxy apply of a file with 150 problems = exit %d, stderr ending %q, want 100 problems, the rest counted", code, lines[max(0, len(lines)-3):])
	}
}

func TestApplyStateProblems(t *testing.T) {
	cases := []struct {
		name  string
		seed  func(f *fakeAdmin) string
		file  string
		flags []string
		want  func(seeded string) string
	}{
		{"two projects of the name", func(f *fakeAdmin) string {
			return f.seed(wire.ProjectInput{Name: ptr("A")}, nil) + ", " + f.seed(wire.ProjectInput{Name: ptr("A")}, nil)
		}, "projects:\n  - name: A\n", nil, func(ids string) string {
			return `:2: projects[0].name: 2 projects on the server are named "A" (` + ids + `)`
		}},
		{"environment change", func(f *fakeAdmin) string {
			return f.seed(wire.ProjectInput{Name: ptr("A"), Environment: ptr("staging")}, nil)
		}, "projects:\n  - name: A\n    environment: production\n", nil, func(string) string {
			return ":3: projects[0].environment: cannot change from staging to production"
		}},
		{"undefined classification", nil, "projects:\n  - name: A\n    routes:\n      - path: /a\n        request:\n          mode: encrypt\n          fields: [x]\n          classification: pii\n",
			nil, func(string) string {
				return `:8: projects[0].routes[0].request.classification: no classification "pii" in project "A"`
			}},
		{"pruned classification still named", func(f *fakeAdmin) string {
			id := f.seed(wire.ProjectInput{Name: ptr("A")}, []wire.Classification{{Slug: "pii", Mask: defaultMask()}})
			f.keys[id] = []wire.Key{{ID: "qk_aaaaaaaaaaaa", Status: "active", Classifications: []string{"pii"}}}
			return ""
		}, "projects:\n  - name: A\n", []string{"--prune"}, func(string) string {
			return `:2: projects[0].classifications: --prune would delete classification "pii", which active keys qk_aaaaaaaaaaaa name`
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAdmin(t)
			seeded := ""
			if tc.seed != nil {
				seeded = tc.seed(f)
			}
			file := writeFile(t, t.TempDir(), "p.yaml", tc.file)
			_, stderr, code := runCmd(t, f.env(), "", append([]string{"apply", "-f", file}, tc.flags...)...)
			if want := file + tc.want(seeded); code != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nothing was applied") {
				t.Errorf("sdproxy apply (%s) = exit %d, stderr %q, want exit 1 with %q", tc.name, code, stderr, want)
			}
			if f.writeCount() != 0 {
				t.Errorf("sdproxy apply (%s) made writes %v, want none", tc.name, f.writes)
			}
		})
	}
}

// projectState is the fake's state of one project, as JSON: routes by
// path without their ids (a deleted route comes back with a new id).
func (f *fakeAdmin) projectState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p *wire.Project
	for _, q := range f.projects {
		if q.ID == id {
			p = q
		}
	}
	var routes []wire.Route
	for _, r := range f.routes[id] {
		c := *r
		c.ID = ""
		routes = append(routes, c)
	}
	slices.SortFunc(routes, func(a, b wire.Route) int { return strings.Compare(a.Path, b.Path) })
	b, _ := json.Marshal(map[string]any{"project": p, "routes": routes, "classes": f.classes[id]})
	return string(b)
}

func TestApplyIsAllOrNothingPerProject(t *testing.T) {
	f := newFakeAdmin(t)
	blog := f.seed(wire.ProjectInput{Name: ptr("Blog"), Upstream: ptr("http://a.example")},
		[]wire.Classification{{Slug: "old", Name: "Old", Mask: defaultMask()}},
		wire.RouteInput{Path: "/same"}, wire.RouteInput{Path: "/changed", Order: 1}, wire.RouteInput{Path: "/pruned"})
	before := f.projectState(blog)
	file := writeFile(t, t.TempDir(), "p.yaml", `projects:
  - name: Blog
    upstream: http://b.example
    classifications:
      - {slug: pii, name: PII}
      - {slug: old, name: Renamed}
    routes:
      - {path: /same}
      - {path: /changed, order: 2}
      - {path: /new}
      - path: /refused
        request:
          mode: encrypt
          fields:
            - x
            - y
  - name: Shop
    routes: [{path: /orders}]
`)
	f.refuse = func(method, path string, body []byte) string {
		if method == "POST" && bytes.Contains(body, []byte(`"/refused"`)) {
			return "request.fields[1]: not today"
		}
		return ""
	}
	_, stderr, code := runCmd(t, f.env(), "", "apply", "-f", file, "--prune")
	if code != 1 {
		t.Fatalf("sdproxy apply with a refused write = exit %d, want 1", code)
	}
	for _, want := range []string{
		file + ":16: projects[0].routes[3].request.fields[1]: not today (refused by the server: invalid_request, HTTP 400",
		`project "Blog": undid the 5 earlier changes of this run`,
		`project "Blog" failed and was rolled back; the file's other projects were applied`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("sdproxy apply with a refused write stderr =\n%s\nwant it to say %q", stderr, want)
		}
	}
	if after := f.projectState(blog); after != before {
		t.Errorf("project Blog after a refused write =\n%s\nwant it as before\n%s", after, before)
	}
	if out := applyOK(t, f, "", "export", "--project", "Shop"); !strings.Contains(out, "/orders") {
		t.Errorf("export --project Shop = %q, want the other project applied", out)
	}

	// Refused deletes of objects only on the server name the object.
	f.refuse = func(method, path string, body []byte) string {
		if method == "DELETE" && strings.HasSuffix(path, "/classifications/old") {
			return "classification \"old\" is named by route rt_x"
		}
		return ""
	}
	writeFile(t, filepath.Dir(file), "p.yaml", "projects: [{name: Blog}, {name: Shop, routes: [{path: /orders}]}]\n")
	_, stderr, _ = runCmd(t, f.env(), "", "apply", "-f", file, "--prune")
	if want := `project "Blog": delete classification old: classification "old" is named by route rt_x`; !strings.Contains(stderr, want) {
		t.Errorf("sdproxy apply with a refused delete stderr =\n%s\nwant %q", stderr, want)
	}
	if after := f.projectState(blog); after != before {
		t.Errorf("project Blog after a refused delete =\n%s\nwant it as before\n%s (deleted routes come back with new ids)", after, before)
	}
}

func TestApplyFromStdinAndJSONOutput(t *testing.T) {
	f := newFakeAdmin(t)
	out := applyOK(t, f, `{"projects": [{"name": "A", "routes": [{"path": "/a"}]}]}`, "apply", "-f", "-", "-o", "json")
	var res struct {
		Applied bool
		Summary map[string]int
		Changes []struct{ Kind, Project, Name, ID, Action string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("sdproxy apply -o json = %q: %v", out, err)
	}
	if !res.Applied || res.Summary["create"] != 2 || len(res.Changes) != 2 || res.Changes[1].Kind != "route" || res.Changes[1].ID == "" {
		t.Errorf("sdproxy apply -o json = %+v, want 2 objects created and applied, the route with its id", res)
	}
	_, stderr, code := runCmd(t, f.env(), "projects: [{name: A, keys: []}]", "apply", "-f", "-")
	if code != 1 || !strings.Contains(stderr, "<stdin>:1: projects[0].keys:") {
		t.Errorf("sdproxy apply -f - (with keys) = exit %d, stderr %q, want a problem at <stdin>:1", code, stderr)
	}
}

func TestApplyHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"apply", "export"}},
		{[]string{"apply", "--help"}, []string{"--file", "--dry-run", "--prune", "never part of a policy file", "all-or-nothing", "--admin-addr"}},
		{[]string{"export", "--help"}, []string{"--project", "--output", "yaml or json", "never exported", "--admin-addr"}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr, fakeEnv{}.get); code != 0 {
			t.Fatalf("run(%q) = %d (stderr %q), want 0", tc.args, code, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("run(%q) stdout = %q, want it to mention %q", tc.args, stdout.String(), w)
			}
		}
	}
	_, stderr, code := runCmd(t, fakeEnv{}, "", "apply")
	if code != 1 || !strings.Contains(stderr, `"file" not set`) {
		t.Errorf("sdproxy apply without -f = exit %d, stderr %q, want the flag required", code, stderr)
	}
}

func TestPolicyExamplesAreValid(t *testing.T) {
	files := examples(t)
	// The examples of docs/policy-as-code.md, too.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy-as-code.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) == 0 {
		t.Fatal("docs/policy-as-code.md has no yaml example")
	}
	for i, b := range blocks {
		files = append(files, writeFile(t, t.TempDir(), "doc-example-"+string(rune('a'+i))+".yaml", b[1]))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if pol, err := decodePolicy(file, data); err != nil || len(pol.Projects) == 0 {
			t.Errorf("decodePolicy(%s) = %v, want a valid file with projects", file, err)
		}
	}
}

// The JSON Schema names exactly the members the decoder accepts, at every
// level, and refuses any other.
func TestPolicySchemaNamesEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "sdproxy-config.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Type                 string                     `json:"type"`
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Required             []string                   `json:"required"`
	}
	var schema struct {
		Schema string            `json:"$schema"`
		ID     string            `json:"$id"`
		Defs   map[string]object `json:"$defs"`
		object
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("docs/sdproxy-config.schema.json is not valid JSON: %v", err)
	}
	if !strings.Contains(schema.Schema, "json-schema.org") {
		t.Errorf("schema $schema = %q, want a JSON Schema dialect", schema.Schema)
	}
	levels := map[string][]string{
		"": policyTopKeys, "project": policyProjectKeys, "rate_limit": policyRateLimitKeys,
		"classification": policyClassificationKeys, "mask": policyMaskKeys, "route": policyRouteKeys,
		"request": policyRequestKeys, "response": policyResponseKeys,
	}
	for name, keys := range levels {
		obj, ok := schema.object, true
		if name != "" {
			obj, ok = schema.Defs[name]
		}
		if !ok {
			t.Errorf("schema has no $defs/%s", name)
			continue
		}
		var got []string
		for k := range obj.Properties {
			got = append(got, k)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(keys))
		if !slices.Equal(got, want) {
			t.Errorf("schema %q properties = %v, want %v (what the decoder accepts)", name, got, want)
		}
		if obj.Type != "object" || obj.AdditionalProperties == nil || *obj.AdditionalProperties {
			t.Errorf("schema %q = type %q, additionalProperties %v, want an object refusing other members", name, obj.Type, obj.AdditionalProperties)
		}
	}
	for _, req := range [][2]string{{"", "projects"}, {"project", "name"}, {"classification", "slug"}, {"route", "path"}, {"request", "mode"}, {"request", "fields"}, {"response", "fields"}} {
		obj := schema.object
		if req[0] != "" {
			obj = schema.Defs[req[0]]
		}
		if !slices.Contains(obj.Required, req[1]) {
			t.Errorf("schema %q required = %v, want %q", req[0], obj.Required, req[1])
		}
	}
}
