package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

const previewLong = `Preview what a project's rules do to a request: which route matches, which
paths of the body (and of the upstream's answer, with --response) would be
encrypted or decrypted, which named fields are absent or required but
missing, and hints: values that look like personal data or secrets (email,
phone, card_number, iban, us_ssn, ip_address, jwt, secret_like, or a telling
field name) that no rule covers. Nothing is encrypted, stored or recorded,
and no value is ever shown: paths and kinds only.

-d and --response take a JSON value: inline, @FILE, or @- for standard
input. --method defaults to POST with -d, GET without. --fields and --mode
stand for the X-Qanapi-Fields and X-Qanapi-Mode headers, --response-fields
and --response-mode for X-Qanapi-Response-Fields and -Mode.

  sdproxy preview --project prj_… --method POST --path /posts -d @body.json
  sdproxy preview --project prj_… --path /posts/1 --response @answer.json -o json`

// previewFlags are the flags of sdproxy preview.
type previewFlags struct {
	project, method, path, data, response, mode, responseMode string
	fields, responseFields, index                             []string
}

func newPreviewCmd(cl *clientFlags) *cobra.Command {
	var pf previewFlags
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Show what a project's route rules would transform in a request, and unprotected personal data",
		Long:  previewLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := pf.input(cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := cl.client()
			if err != nil {
				return err
			}
			id, err := resolveProject(cl, pf.project)
			if err != nil {
				return err
			}
			raw, err := c.do("POST", "/admin/v1/projects/"+id+"/preview", in)
			if err != nil {
				return err
			}
			if cl.output == "json" {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var p wire.Preview
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			return printPreview(cmd.OutOrStdout(), in, p)
		},
	}
	cl.register(cmd)
	f := cmd.Flags()
	f.StringVar(&pf.project, "project", "", "project id, or name when no other project has it (required)")
	f.StringVar(&pf.method, "method", "", "HTTP method of the request (default POST with -d, else GET)")
	f.StringVar(&pf.path, "path", "", `request path after /proxy/{project-id}, e.g. /posts/1 (required)`)
	f.StringVarP(&pf.data, "data", "d", "", "request body: JSON, @FILE or @- (standard input)")
	f.StringVar(&pf.response, "response", "", "the upstream's answer: JSON, @FILE or @- (standard input)")
	f.StringSliceVar(&pf.fields, "fields", nil, "request fields as X-Qanapi-Fields would add them, e.g. user.email,items.*.card")
	f.StringVar(&pf.mode, "mode", "", "request mode as X-Qanapi-Mode: encrypt or decrypt")
	f.StringSliceVar(&pf.responseFields, "response-fields", nil, "response fields as X-Qanapi-Response-Fields would add them")
	f.StringSliceVar(&pf.index, "index", nil, "blind indexes as X-Qanapi-Index would add them, e.g. email:lower_trim")
	f.StringVar(&pf.responseMode, "response-mode", "", "response mode as X-Qanapi-Response-Mode: decrypt or encrypt")
	cmd.MarkFlagRequired("project")
	cmd.MarkFlagRequired("path")
	return cmd
}

// input builds the preview's request body from the flags.
func (pf *previewFlags) input(stdin io.Reader) (wire.PreviewInput, error) {
	in := wire.PreviewInput{Method: pf.method, Path: pf.path, Fields: pf.fields, Mode: pf.mode,
		ResponseFields: pf.responseFields, ResponseMode: pf.responseMode, Index: pf.index}
	if pf.data == "@-" && pf.response == "@-" {
		return in, fmt.Errorf("-d and --response cannot both read standard input")
	}
	var err error
	if in.Body, err = readJSONArg("-d", pf.data, stdin); err != nil {
		return in, err
	}
	if in.ResponseBody, err = readJSONArg("--response", pf.response, stdin); err != nil {
		return in, err
	}
	if in.Method == "" {
		in.Method = "GET"
		if in.Body != nil {
			in.Method = "POST"
		}
	}
	return in, nil
}

// maxPreviewBody is the most a body given to preview may hold: the admin
// API's body limit.
const maxPreviewBody = 1 << 20

// readJSONArg reads a JSON value given inline, as @FILE or as @- (stdin);
// "" gives nil (no body).
func readJSONArg(flag, arg string, stdin io.Reader) (json.RawMessage, error) {
	if arg == "" {
		return nil, nil
	}
	data := []byte(arg)
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		r := stdin
		if name != "-" {
			file, err := os.Open(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", flag, err)
			}
			defer file.Close()
			r = file
		}
		var err error
		if data, err = io.ReadAll(io.LimitReader(r, maxPreviewBody+1)); err != nil {
			return nil, fmt.Errorf("%s: reading %s: %w", flag, name, err)
		}
		if len(data) > maxPreviewBody {
			return nil, fmt.Errorf("%s: %s holds more than %d bytes", flag, name, maxPreviewBody)
		}
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s: not valid JSON (give a JSON value, @FILE or @-)", flag)
	}
	return json.RawMessage(data), nil
}

// printPreview shows a preview as three tables: the route, the paths of
// each phase, the hints.
func printPreview(w io.Writer, in wire.PreviewInput, p wire.Preview) error {
	if p.Route == nil {
		fmt.Fprintf(w, "No route matches %s %s.\n\n", escapeCell(strings.ToUpper(in.Method)), escapeCell(in.Path))
	} else {
		t := newTable(w, "ROUTE", "ORDER", "METHODS", "PATH")
		t.row(p.Route.ID, strconv.Itoa(p.Route.Order), methodsCell(p.Route.Methods), p.Route.Path)
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	t := newTable(w, "PHASE", "MODE", "PATH", "STATUS")
	previewRows(t, "request", p.Request)
	if p.Response != nil {
		previewRows(t, "response", *p.Response)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Values transformed: request %d", p.Request.Values)
	if p.Response != nil {
		fmt.Fprintf(w, ", response %d", p.Response.Values)
	}
	fmt.Fprint(w, ".\n\n")
	if len(p.Hints) == 0 {
		_, err := fmt.Fprintln(w, "No hints: nothing else looks like personal data or a secret.")
		return err
	}
	t = newTable(w, "PHASE", "PATH", "KIND", "REASON")
	for _, h := range p.Hints {
		t.row(h.Phase, orDash(h.Path), h.Kind, h.Reason)
	}
	return t.flush()
}

// previewRows adds one phase's paths to t: transformed, absent, required
// but missing, not a token.
func previewRows(t *table, phase string, ph wire.PreviewPhase) {
	if ph.Mode == "none" {
		t.row(phase, "none", "-", "nothing transformed")
		return
	}
	for _, f := range ph.Fields {
		t.row(phase, ph.Mode, f, "transformed")
	}
	for _, f := range ph.Absent {
		t.row(phase, ph.Mode, f, "absent")
	}
	for _, f := range ph.MissingRequired {
		t.row(phase, ph.Mode, f, "missing (required: the proxy answers 422)")
	}
	notToken := "not a token (passes unchanged)"
	if phase == "request" {
		notToken = "not a token (the proxy answers 422)"
	}
	for _, f := range ph.NotTokens {
		t.row(phase, ph.Mode, f, notToken)
	}
	for _, x := range ph.Index {
		for _, w := range x.Written {
			t.row(phase, "index", w, "blind index of "+x.Field+" ("+x.Normalize+")")
		}
		for _, r := range x.Replaced {
			t.row(phase, "index", r, "replaced by "+x.Name)
		}
		for _, n := range x.NotScalar {
			t.row(phase, "index", n, "object or array: the proxy answers 422")
		}
	}
}
