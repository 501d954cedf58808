package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

const routeLong = `Routes are a project's server-side rules: for requests whose method and
path match, the proxy transforms the named fields of the request body before
forwarding it (--request-*), and of the upstream's JSON answer before the
client sees it (--response-*), with no X-Qanapi-* header but the key.

--path matches what follows /proxy/{project-id}: "/" and segments, each a
literal, * (exactly one segment) or ** (any number of segments). Empty
--methods means any method. The first matching route applies, by --order
(lower first), then by creation.

Fields use the X-Qanapi-Fields syntax: dot paths (user.email), * for any key
or index (items.*.card), a\.b for a key holding a dot. Each list flag takes
comma-separated values or repeats; for a key holding a comma, use -f.

-f FILE (or - for standard input) gives the route as the admin API's JSON
instead of flags, e.g.
  {"methods": ["POST", "PUT"], "path": "/posts/**", "order": 10,
   "request":  {"mode": "encrypt", "fields": ["title", "body"], "classification": "pii", "require": ["title"],
               "index": [{"field": "title", "normalize": "lower_trim", "name": "title_bidx", "bytes": 16}]},
   "response": {"mode": "decrypt", "fields": ["title", "body", "*.title", "*.body"]}}
The output of "route show ROUTE_ID --output json" is accepted as it is (its
id, project_id and times are ignored).`

func newRouteCmd(cl *clientFlags) *cobra.Command {
	cmd, project, routesPath := projectScopedCmd(cl, "route", "Manage a project's route rules (create, list, show, update, delete)", "/routes")
	cmd.Long = routeLong
	one := func(id string) string { return routesPath() + "/" + id }
	cmd.AddCommand(
		routeWriteCmd(cl, "create", "Create a route", routesPath),
		&cobra.Command{
			Use: "list", Short: "List the project's routes in evaluation order", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return listRoutes(cl, cmd.OutOrStdout(), routesPath()) },
		},
		&cobra.Command{
			Use: "show ROUTE_ID", Short: "Show one route", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return callRoute(cl, cmd.OutOrStdout(), "GET", one(args[0]), nil)
			},
		},
		routeWriteCmd(cl, "update", "Replace a route as a whole (settings not given take their defaults)", routesPath),
		&cobra.Command{
			Use: "delete ROUTE_ID", Short: "Delete a route", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := cl.client()
				if err != nil {
					return err
				}
				if _, err := c.do("DELETE", one(args[0]), nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Deleted route %s of project %s.\n", escapeCell(args[0]), escapeCell(*project))
				return err
			},
		},
	)
	return cmd
}

// routeFlags are the flags that describe a route.
type routeFlags struct {
	methods, requestFields, require, responseFields []string
	index                                           []string
	path, requestMode, requestClass, responseMode   string
	order                                           int
	file                                            string
	subjectField                                    string
}

var (
	requestFlags  = []string{"request-mode", "request-fields", "request-classification", "require", "index", "subject-field"}
	responseFlags = []string{"response-mode", "response-fields"}
	routeFlagSet  = append(append([]string{"methods", "path", "order"}, requestFlags...), responseFlags...)
)

// routeWriteCmd is "route create" or "route update ROUTE_ID".
func routeWriteCmd(cl *clientFlags, verb, short string, routesPath func() string) *cobra.Command {
	var rf routeFlags
	cmd := &cobra.Command{Use: verb, Short: short, Args: cobra.NoArgs}
	if verb == "update" {
		cmd.Use = "update ROUTE_ID"
		cmd.Args = cobra.ExactArgs(1)
		cmd.Long = `Replace route ROUTE_ID as a whole, as HTTP PUT does: the route becomes exactly
what the flags (or -f) describe. A setting not given takes its default (any
method, order 0, no request rule, no response rule); it is not kept from the
route's current value. The route keeps its id and creation time, which also
keep its place among routes of the same order.`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		body, err := rf.body(cmd)
		if err != nil {
			return err
		}
		if verb == "create" {
			return callRoute(cl, cmd.OutOrStdout(), "POST", routesPath(), body)
		}
		return callRoute(cl, cmd.OutOrStdout(), "PUT", routesPath()+"/"+args[0], body)
	}
	f := cmd.Flags()
	f.StringSliceVar(&rf.methods, "methods", nil, "HTTP methods the route matches, e.g. GET,POST (default any)")
	f.StringVar(&rf.path, "path", "", `path pattern after /proxy/{project-id}, e.g. "/posts/**" (required)`)
	f.IntVar(&rf.order, "order", 0, "evaluation order: lower first")
	f.StringVar(&rf.requestMode, "request-mode", "", "request rule: encrypt or decrypt (required with a request rule)")
	f.StringSliceVar(&rf.requestFields, "request-fields", nil, "request rule: field paths to transform, e.g. title,body")
	f.StringVar(&rf.requestClass, "request-classification", "", "request rule: classification slug of new tokens")
	f.StringSliceVar(&rf.require, "require", nil, "request rule: paths the request must hold (no *), else 422")
	f.StringSliceVar(&rf.index, "index", nil, "request rule: blind indexes, FIELD[:NORMALIZATION] each (exact, lower, lower_trim, digits), e.g. email:lower_trim; name and bytes with -f")
	f.StringVar(&rf.subjectField, "subject-field", "", "request rule (encrypt): body path (no *) whose string value is the data subject to seal for, e.g. user.id")
	f.StringVar(&rf.responseMode, "response-mode", "", "response rule: decrypt (default) or encrypt")
	f.StringSliceVar(&rf.responseFields, "response-fields", nil, "response rule: field paths to transform, e.g. title,*.title")
	f.StringVarP(&rf.file, "file", "f", "", "the route as JSON from FILE (- for standard input) instead of the flags above")
	return cmd
}

// body returns the request body the flags describe.
func (rf *routeFlags) body(cmd *cobra.Command) (any, error) {
	f := cmd.Flags()
	if rf.file != "" {
		for _, name := range routeFlagSet {
			if f.Changed(name) {
				return nil, fmt.Errorf("-f and --%s exclude each other: give the whole route in the file", name)
			}
		}
		return readRouteFile(rf.file, cmd.InOrStdin())
	}
	in := wire.RouteInput{Methods: rf.methods, Path: rf.path, Order: rf.order}
	if anyChanged(cmd, requestFlags) {
		in.Request = &wire.RuleInput{Mode: rf.requestMode, Fields: rf.requestFields, Classification: rf.requestClass, Require: rf.require, Index: indexFlag(rf.index), SubjectField: rf.subjectField}
	}
	if anyChanged(cmd, responseFlags) {
		in.Response = &wire.RuleInput{Mode: rf.responseMode, Fields: rf.responseFields}
	}
	return in, nil
}

func anyChanged(cmd *cobra.Command, names []string) bool {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// maxRouteFile is the most a route file may hold: the admin API's body limit.
const maxRouteFile = 1 << 20

// readRouteFile reads a JSON route from path ("-": stdin) and drops the
// members a route answer has but an input does not (id, project_id,
// created_at, updated_at), so "route show -o json" output can be edited
// and given back. Anything else goes to the server as it is, which checks
// it and names what is wrong.
func readRouteFile(path string, stdin io.Reader) (json.RawMessage, error) {
	r := stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		r = file
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRouteFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxRouteFile {
		return nil, fmt.Errorf("%s: more than %d bytes", path, maxRouteFile)
	}
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&members); err != nil || members == nil || dec.More() {
		return nil, fmt.Errorf("%s: want one JSON object (a route)", path)
	}
	for _, k := range []string{"id", "project_id", "created_at", "updated_at"} {
		delete(members, k)
	}
	return json.Marshal(members)
}

// callRoute sends one route call and shows the route it answers.
func callRoute(cl *clientFlags, w io.Writer, method, path string, body any) error {
	return callAndShow(cl, w, method, path, body, func(r wire.Route, t *table) {
		t.row("id", r.ID)
		t.row("project_id", r.ProjectID)
		t.row("order", strconv.Itoa(r.Order))
		t.row("methods", methodsCell(r.Methods))
		t.row("path", r.Path)
		t.row("request", requestCell(r.Request))
		t.row("response", responseCell(r.Response))
		t.row("created_at", fmtTime(&r.CreatedAt, "-"))
		t.row("updated_at", fmtTime(&r.UpdatedAt, "-"))
	})
}

func listRoutes(cl *clientFlags, w io.Writer, path string) error {
	return printList(cl, w, path, []string{"ID", "ORDER", "METHODS", "PATH", "REQUEST", "RESPONSE"},
		func(r wire.Route) []string {
			return []string{r.ID, strconv.Itoa(r.Order), methodsCell(r.Methods), r.Path, requestCell(r.Request), responseCell(r.Response)}
		})
}

func methodsCell(m []string) string {
	if len(m) == 0 {
		return "any"
	}
	return strings.Join(m, ",")
}

// requestCell sums up a request rule: "encrypt title,body class=pii require=title".
func requestCell(r *wire.RequestRule) string {
	if r == nil {
		return "-"
	}
	s := r.Mode + " " + strings.Join(r.Fields, ",")
	if r.Classification != "" {
		s += " class=" + r.Classification
	}
	if len(r.Require) > 0 {
		s += " require=" + strings.Join(r.Require, ",")
	}
	if len(r.Index) > 0 {
		s += " index=" + indexCell(r.Index)
	}
	if r.SubjectField != "" {
		s += " subject=" + r.SubjectField
	}
	return s
}

// indexFlag turns --index entries (FIELD[:NORMALIZATION], the last ':'
// starting the normalisation) into index rules; the server validates them.
func indexFlag(list []string) []wire.RouteIndex {
	var out []wire.RouteIndex
	for _, e := range list {
		r := wire.RouteIndex{Field: e}
		if i := strings.LastIndexByte(e, ':'); i >= 0 {
			r.Field, r.Normalize = e[:i], e[i+1:]
		}
		out = append(out, r)
	}
	return out
}

// indexCell sums up index rules: "email:lower_trim,phone:digits>phone_idx/8"
// (the name when not the default, the bytes when not 16).
func indexCell(list []wire.RouteIndex) string {
	parts := make([]string, len(list))
	for i, r := range list {
		s := r.Field + ":" + r.Normalize
		last := r.Field[strings.LastIndexByte(r.Field, '.')+1:]
		if r.Name != "" && r.Name != last+"_bidx" {
			s += ">" + r.Name
		}
		if r.Bytes != 0 && r.Bytes != 16 {
			s += "/" + strconv.Itoa(r.Bytes)
		}
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

func responseCell(r *wire.ResponseRule) string {
	if r == nil {
		return "-"
	}
	return r.Mode + " " + strings.Join(r.Fields, ",")
}
