package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
)

// clientFlags are the flags every admin-API command shares.
type clientFlags struct {
	getenv    func(string) string
	adminAddr string
	dataDir   string
	output    string
}

func (c *clientFlags) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.adminAddr, "admin-addr", "", "admin API base URL (env SDPROXY_ADMIN_ADDR, default http://127.0.0.1:8081)")
	f.StringVar(&c.dataDir, "data-dir", "", "data directory holding admin.token when SDPROXY_ADMIN_TOKEN is unset (env SDPROXY_DATA_DIR, default ./sdproxy-data)")
	f.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
}

// projectScopedCmd is a command group whose subcommands act inside one
// project (--project, required); path returns the admin-API path of the
// project's resource, e.g. /admin/v1/projects/prj_…/keys for "/keys".
func projectScopedCmd(cl *clientFlags, use, short, resource string) (cmd *cobra.Command, project *string, path func() string) {
	project = new(string)
	cmd = &cobra.Command{Use: use, Short: short}
	cl.register(cmd)
	cmd.PersistentFlags().StringVar(project, "project", "", "project id, or its name when no other project has it (required)")
	cmd.MarkPersistentFlagRequired("project")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		id, err := resolveProject(cl, *project)
		*project = id
		return err
	}
	return cmd, project, func() string { return "/admin/v1/projects/" + *project + resource }
}

// resolveProject returns ref when it is a project id (prj_…), else the id
// of the one project named ref: scripts and one-shot containers can name
// the project their policy file created without first looking up its id.
func resolveProject(cl *clientFlags, ref string) (string, error) {
	switch {
	case strings.TrimSpace(ref) == "":
		// Before any call: cobra checks required flags only after the
		// pre-run hook that resolves the project.
		return "", errors.New("--project is required: a project's id, or its name when no other project has it")
	case strings.HasPrefix(ref, "prj_"):
		return ref, nil
	}
	c, err := cl.client()
	if err != nil {
		return "", err
	}
	items, err := c.getAll("/admin/v1/projects")
	if err != nil {
		return "", err
	}
	var ids []string
	for _, raw := range items {
		var p wire.Project
		if err := json.Unmarshal(raw, &p); err != nil {
			return "", err
		}
		if p.Name == ref {
			ids = append(ids, p.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("--project %q: no project has this id or name", ref)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("--project %q: %d projects have this name (%s): give the id", ref, len(ids), strings.Join(ids, ", "))
	}
}

// client is a small admin-API client.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (c *clientFlags) client() (*client, error) {
	if c.output != "table" && c.output != "json" {
		return nil, fmt.Errorf("--output must be table or json, got %q", c.output)
	}
	base := firstNonEmpty(c.adminAddr, c.getenv(config.EnvAdminAddr), "http://127.0.0.1:8081")
	// Surrounding spaces and newlines are not part of the token, as for
	// serve (loadAdminToken) and the admin API.
	token := strings.TrimSpace(c.getenv(config.EnvAdminToken))
	if f := c.getenv(config.EnvAdminTokenFile); token == "" && f != "" {
		t, err := readAdminTokenFile(f, false)
		if err != nil {
			return nil, fmt.Errorf("no admin token: %s: %w", config.EnvAdminTokenFile, err)
		}
		token = t
	}
	if token == "" {
		dir := firstNonEmpty(c.dataDir, c.getenv(config.EnvDataDir), config.Default().DataDir)
		b, err := os.ReadFile(adminTokenPath(dir))
		if err != nil {
			return nil, fmt.Errorf("no admin token: set %s or run from where %s is readable (%v)", config.EnvAdminToken, adminTokenPath(dir), err)
		}
		token = strings.TrimSpace(string(b))
	}
	hc, err := adminHTTPClient(c.getenv)
	if err != nil {
		return nil, err
	}
	return &client{base: strings.TrimSuffix(base, "/"), token: token, http: hc}, nil
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status int
	wire.ErrorDetail
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d, request %s)", e.Message, e.Code, e.Status, e.RequestID)
}

// do calls method path with body (marshalled as JSON unless nil) and
// returns the raw answer, or an *apiError.
func (c *client) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		if _, perr := url.Parse(c.base); perr != nil {
			// url.Parse's error quotes the URL, credentials included.
			return nil, errors.New("--admin-addr (or " + config.EnvAdminAddr + ") is not a valid URL")
		}
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the admin API at %s (is `sdproxy serve` running? see --admin-addr): %w", redactedURL(c.base), err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, decodeAPIError(resp.StatusCode, out)
	}
	return out, nil
}

// statusError is an error answer that is not the admin API's error
// body (verify's 409 is its result): it keeps the body for the caller
// that knows its shape.
type statusError struct {
	Status int
	Body   []byte
}

func (e *statusError) Error() string { return fmt.Sprintf("the server answered HTTP %d", e.Status) }

// decodeAPIError turns an error answer into an *apiError, or a
// *statusError when it is not an error body.
func decodeAPIError(status int, body []byte) error {
	var e wire.ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return &statusError{Status: status, Body: body}
	}
	return &apiError{Status: status, ErrorDetail: e.Error}
}

// getAll follows next_cursor and returns every item of a list.
func (c *client) getAll(path string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	cursor := ""
	for {
		p := path
		if cursor != "" {
			p += sep(p) + "cursor=" + cursor
		}
		b, err := c.do("GET", p, nil)
		if err != nil {
			return nil, err
		}
		var pg wire.Page[json.RawMessage]
		if err := json.Unmarshal(b, &pg); err != nil {
			return nil, err
		}
		all = append(all, pg.Items...)
		if pg.NextCursor == nil {
			return all, nil
		}
		cursor = *pg.NextCursor
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// redactedURL is u with the password of its user info, if any, replaced
// by "xxxxx" (as net/url's Redacted does), for messages: --admin-addr may
// hold credentials (never sent: the bearer token replaces them), and the
// error lands in terminals and CI logs.
func redactedURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "--admin-addr"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
