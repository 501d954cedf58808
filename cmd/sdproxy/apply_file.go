package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// A policy file (`sdproxy apply -f FILE`, `sdproxy export`) declares
// projects by name with their settings, classifications and routes; never
// API keys. It is YAML or JSON (read as YAML, which JSON is a subset of),
// decoded through yaml.Node so that every problem names its line. The
// rules are the admin API's (apply_rules.go); docs/policy-as-code.md
// describes the format and docs/sdproxy-config.schema.json is its schema.

// policyVersion is the only format version there is.
const policyVersion = 1

// maxPolicyFile is the most a policy file may hold.
const maxPolicyFile = 16 << 20

// The members accepted at each level of a policy file. The JSON Schema
// names the same ones (TestPolicySchemaNamesEveryKey).
var (
	policyTopKeys     = []string{"version", "projects"}
	policyProjectKeys = []string{"name", "environment", "upstream", "destinations", "rate_limit", "max_active_keys", "bind_fields",
		"upstream_ca", "upstream_ca_file", "upstream_client_cert", "upstream_client_cert_file", "upstream_client_key_file", "classifications", "routes"}
	policyRateLimitKeys      = []string{"requests_per_second", "burst"}
	policyClassificationKeys = []string{"slug", "name", "description", "mask"}
	policyMaskKeys           = []string{"show_first", "show_last", "char"}
	policyRouteKeys          = []string{"methods", "path", "order", "request", "response"}
	policyRequestKeys        = []string{"mode", "fields", "classification", "require", "index", "subject_field"}
	policyResponseKeys       = []string{"mode", "fields"}
	policyIndexKeys          = []string{"field", "normalize", "name", "bytes"}
)

// policy is a decoded, validated policy file. Values are in the canonical
// spelling the admin API stores (upper-case methods, canonical field
// paths, destination origins), so they compare with the server's.
type policy struct {
	File     string
	Projects []*policyProject
	// lines maps a field path ("projects[0].routes[1].request.fields[0]")
	// to the line it is written on.
	lines map[string]int
}

// policyProject is one project of a policy file. Settings.Name is always
// set; another nil setting is not in the file: apply leaves it as it is.
type policyProject struct {
	Field    string // "projects[0]"
	Line     int
	Name     string
	Settings wire.ProjectInput
	// KeyFile is the file Settings.UpstreamClientKey was read from.
	KeyFile         string
	Classifications []*policyClass
	Routes          []*policyRoute
}

// policyClass is one classification of a project: always the whole
// classification, as the classifications API's PUT takes it (name
// defaults to the slug, the mask to show_last 4 with '*').
type policyClass struct {
	Field string
	Line  int
	Class wire.Classification
}

// policyRoute is one route of a project: always the whole route, as the
// routes API's PUT takes it.
type policyRoute struct {
	Field string
	Line  int
	Spec  routeSpec
}

// line returns the line of field, or of the nearest enclosing field
// written in the file, or 0.
func (p *policy) line(field string) int {
	for field != "" {
		if l, ok := p.lines[field]; ok {
			return l
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

// fileProblem is one problem of a policy file.
type fileProblem struct {
	Line  int
	Field string // "" for the file as a whole
	Msg   string
}

// problemList is every problem found in a policy file, sorted by line.
type problemList struct {
	File string
	List []fileProblem
}

func (p *problemList) Error() string {
	var b strings.Builder
	for i, pr := range p.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(pr.format(p.File))
	}
	return b.String()
}

// format is "FILE:LINE: field: problem".
func (pr fileProblem) format(file string) string {
	s := file
	if pr.Line > 0 {
		s += fmt.Sprintf(":%d", pr.Line)
	}
	if pr.Field != "" {
		s += ": " + pr.Field
	}
	return s + ": " + pr.Msg
}

func (p *problemList) sort() {
	slices.SortStableFunc(p.List, func(a, b fileProblem) int { return a.Line - b.Line })
}

// readPolicyFile reads path ("-": stdin) and returns its bytes and the
// name problems are reported under.
func readPolicyFile(path string, stdin io.Reader) ([]byte, string, error) {
	name, r := path, stdin
	if path == "-" {
		name = "<stdin>"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyFile+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxPolicyFile {
		return nil, "", fmt.Errorf("%s: more than %d bytes", name, maxPolicyFile)
	}
	return data, name, nil
}

// decodePolicy decodes and validates a policy file. Its error is a
// *problemList naming every problem, or nil.
func decodePolicy(file string, data []byte) (*policy, error) {
	return decodePolicyWithin(file, data, maxPolicyValues)
}

// decodePolicyWithin is decodePolicy walking at most maxValues values.
func decodePolicyWithin(file string, data []byte, maxValues int) (*policy, error) {
	d := &fileDecoder{lines: map[string]int{}, maxValues: maxValues, dir: "."}
	if file != "<stdin>" {
		d.dir = filepath.Dir(file)
	}
	root := d.parse(data)
	pol := &policy{File: file, lines: d.lines}
	if root != nil {
		d.decodeTop(root, pol)
	}
	if d.tooBig != nil {
		d.problems = []fileProblem{*d.tooBig}
	}
	if len(d.problems) > 0 {
		pl := &problemList{File: file, List: d.problems}
		pl.sort()
		return nil, pl
	}
	return pol, nil
}

// parse returns the root node of data's only document, or nil after
// reporting why there is none.
func (d *fileDecoder) parse(data []byte) *yaml.Node {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		// JSON: check it as JSON first (YAML is more lenient), then let
		// tabs, which YAML refuses as indentation, be spaces: valid JSON
		// holds tabs only between tokens.
		if err := json.Unmarshal(data, new(any)); err != nil {
			d.problems = append(d.problems, fileProblem{Line: jsonErrorLine(data, err), Msg: "not valid JSON: " + err.Error()})
			return nil
		}
		data = bytes.ReplaceAll(data, []byte{'\t'}, []byte{' '})
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		msg := "empty file: want a mapping with version and projects"
		if !errors.Is(err, io.EOF) {
			msg = "not valid YAML: " + yamlErrorText(err)
		}
		d.problems = append(d.problems, fileProblem{Line: yamlErrorLine(err), Msg: msg})
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		d.problems = append(d.problems, fileProblem{Line: next.Line, Msg: "holds more than one YAML document: want one"})
		return nil
	}
	if len(doc.Content) == 0 {
		d.problems = append(d.problems, fileProblem{Msg: "empty file: want a mapping with version and projects"})
		return nil
	}
	return doc.Content[0]
}

// jsonErrorLine is the line of a JSON syntax error, or 0.
func jsonErrorLine(data []byte, err error) int {
	var se *json.SyntaxError
	if !errors.As(err, &se) || se.Offset > int64(len(data)) {
		return 0
	}
	return bytes.Count(data[:se.Offset], []byte{'\n'}) + 1
}

// yamlErrorRE splits a YAML error: "yaml: line 3: mapping values are not allowed…".
var yamlErrorRE = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): )?`)

// yamlErrorLine is the line a YAML error names, or 0.
func yamlErrorLine(err error) int {
	line, _ := strconv.Atoi(yamlErrorRE.FindStringSubmatch(err.Error())[1])
	return line
}

// yamlErrorText is a YAML error without its prefix and line.
func yamlErrorText(err error) string {
	return yamlErrorRE.ReplaceAllString(err.Error(), "")
}

// maxPolicyValues bounds the values a file holds once its aliases are
// expanded: a file of nested aliases ("billion laughs") is refused, not
// walked.
const maxPolicyValues = 1 << 20

// fileDecoder walks a policy file's nodes, collecting every problem.
type fileDecoder struct {
	// dir is where the files a policy file names are (its directory,
	// or the working directory for standard input).
	dir       string
	problems  []fileProblem
	lines     map[string]int
	values    int          // members and elements walked so far
	maxValues int          // how many it may walk
	tooBig    *fileProblem // the walk went past maxValues
}

// walk counts k more values of n and reports whether the walk may go on.
func (d *fileDecoder) walk(n *yaml.Node, k int) bool {
	if d.values > d.maxValues {
		return false
	}
	if d.values += k; d.values > d.maxValues {
		d.tooBig = &fileProblem{Line: n.Line, Msg: fmt.Sprintf("holds more than %d values (members and list elements, aliases expanded)", d.maxValues)}
		return false
	}
	return true
}

func (d *fileDecoder) fail(n *yaml.Node, field, format string, a ...any) {
	if len(d.problems) < maxProblems {
		d.add(fileProblem{Line: n.Line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
}

// maxProblems is how many problems of a file are kept.
const maxProblems = 1000

func (d *fileDecoder) add(p fileProblem) {
	if len(d.problems) < maxProblems {
		d.problems = append(d.problems, p)
	}
}

// missing reports that member of the mapping n (at field) is required, at
// the line where the mapping's own name is written.
func (d *fileDecoder) missing(n *yaml.Node, field, member, format string, a ...any) {
	line := n.Line
	if l, ok := d.lines[field]; ok {
		line = l
	}
	d.add(fileProblem{Line: line, Field: memberPath(field, member), Msg: fmt.Sprintf(format, a...)})
}

// resolveAlias follows an alias to the node it names.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// memberPath is the path of name inside field.
func memberPath(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

func elemPath(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// mapping returns the members of the mapping n by name, reporting a node
// that is not a mapping, unknown and repeated names, and any `keys`
// member. It records the line of each member.
func (d *fileDecoder) mapping(n *yaml.Node, field string, known []string) map[string]*yaml.Node {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping (of %s), got %s", strings.Join(known, ", "), describeNode(n))
		return nil
	}
	if !d.walk(n, len(n.Content)/2) {
		return nil
	}
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		name := memberPath(field, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, field, "a member's name must be a string, got %s", describeNode(k))
		case k.Value == "keys":
			d.fail(k, name, "API keys are never part of a policy file: create them with `sdproxy key create`")
		case !slices.Contains(known, k.Value):
			d.fail(k, name, "unknown field (want one of %s)", strings.Join(known, ", "))
		case m[k.Value] != nil:
			d.fail(k, name, "given twice (first on line %d)", d.lines[name])
		default:
			m[k.Value] = v
			d.lines[name] = k.Line
		}
	}
	return m
}

// describeNode names the kind of value n holds, for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		}
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// str decodes a string.
func (d *fileDecoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, field, "want a string, got %s", describeNode(n))
		return "", false
	}
	return n.Value, true
}

// integer decodes a whole number from lo to hi.
func (d *fileDecoder) integer(n *yaml.Node, field string, lo, hi int) (int, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.fail(n, field, "want a whole number, got %s", describeNode(n))
		return 0, false
	}
	if !plainDecimal(n.Value) {
		// YAML 1.1 reads 010 as 8 (and takes 0x0a, 1_000); YAML 1.2 and
		// the editors that check this file by its schema read 010 as 10.
		d.fail(n, field, "write whole numbers in decimal without leading zeros or underscores, not %q", n.Value)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		d.fail(n, field, "must be from %d to %d, not %d", lo, hi, v)
		return 0, false
	}
	return int(v), true
}

// plainDecimal reports whether s is a whole number in decimal, as YAML
// 1.2 and JSON write it: an optional sign, then 0 or digits not starting
// with 0.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// number decodes a finite number.
func (d *fileDecoder) number(n *yaml.Node, field string) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		d.fail(n, field, "want a number, got %s", describeNode(n))
		return 0, false
	}
	return v, true
}

// boolean decodes true or false.
func (d *fileDecoder) boolean(n *yaml.Node, field string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.fail(n, field, "want true or false, got %s", describeNode(n))
		return false, false
	}
	return v, true
}

// list returns the elements of a list, recording each one's line.
func (d *fileDecoder) list(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list, got %s", describeNode(n))
		return nil, false
	}
	if !d.walk(n, len(n.Content)) {
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = resolveAlias(e)
		d.lines[elemPath(field, i)] = e.Line
	}
	return out, true
}

// strList decodes a list of strings.
func (d *fileDecoder) strList(n *yaml.Node, field string) ([]string, bool) {
	elems, ok := d.list(n, field)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		s, good := d.str(e, elemPath(field, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// isNullNode reports whether n is null (written as null, ~ or nothing).
func isNullNode(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }
