package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func newProjectCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Manage projects (create, list, show, update, delete)"}
	cl.register(cmd)
	cmd.AddCommand(
		projectWriteCmd(cl, "create", "Create a project", cobra.NoArgs),
		&cobra.Command{
			Use: "list", Short: "List projects", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return listProjects(cl, cmd.OutOrStdout()) },
		},
		&cobra.Command{
			Use: "show PROJECT_ID", Short: "Show one project", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return callProject(cl, cmd.OutOrStdout(), "GET", "/admin/v1/projects/"+args[0], nil)
			},
		},
		projectWriteCmd(cl, "update", "Change a project's settings (only the flags given)", cobra.ExactArgs(1)),
		&cobra.Command{
			Use: "delete PROJECT_ID", Short: "Delete a project, its keys and data keys", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := cl.client()
				if err != nil {
					return err
				}
				if _, err := c.do("DELETE", "/admin/v1/projects/"+args[0], nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted project %s.\n", args[0])
				return nil
			},
		},
	)
	return cmd
}

// projectWriteCmd is "project create" or "project update PROJECT_ID".
func projectWriteCmd(cl *clientFlags, verb, short string, args cobra.PositionalArgs) *cobra.Command {
	var (
		name, env, upstream string
		destinations        []string
		rps                 float64
		burst, maxKeys      int
		bindFields          bool
		caFile              string
		certFile, keyFile   string
	)
	use := verb
	if verb == "update" {
		use += " PROJECT_ID"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: args}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		f := cmd.Flags()
		var in wire.ProjectInput
		if f.Changed("name") || verb == "create" {
			in.Name = &name
		}
		if f.Changed("environment") {
			if verb == "update" {
				return errors.New("--environment: a project's environment is fixed at creation; create a new project for another")
			}
			in.Environment = &env
		}
		if f.Changed("upstream") {
			in.Upstream = &upstream
		}
		if f.Changed("destination") {
			in.Destinations = &destinations
		}
		if f.Changed("rps") || f.Changed("burst") {
			if !f.Changed("rps") || !f.Changed("burst") {
				return fmt.Errorf("--rps and --burst go together")
			}
			in.RateLimit = &wire.RateLimit{RequestsPerSecond: rps, Burst: burst}
		}
		if f.Changed("max-active-keys") {
			in.MaxActiveKeys = &maxKeys
		}
		if f.Changed("bind-fields") {
			in.BindFields = &bindFields
		}
		if err := upstreamTLSFlags(f.Changed, caFile, certFile, keyFile, &in); err != nil {
			return err
		}
		if verb == "create" {
			return callProject(cl, cmd.OutOrStdout(), "POST", "/admin/v1/projects", in)
		}
		return callProject(cl, cmd.OutOrStdout(), "PATCH", "/admin/v1/projects/"+args[0], in)
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "project name")
	f.StringVar(&env, "environment", "development", "development, staging or production (fixed at creation)")
	if verb == "update" {
		f.MarkHidden("environment") // refused below: only create takes it
	}
	f.StringVar(&upstream, "upstream", "", "base URL requests are forwarded to (empty: answer directly)")
	f.StringSliceVar(&destinations, "destination", nil, "allowed X-Qanapi-Destination origin (repeatable, or comma-separated)")
	f.Float64Var(&rps, "rps", 0, "rate limit per API key: requests per second (with --burst)")
	f.IntVar(&burst, "burst", 0, "rate limit per API key: burst size (with --rps)")
	keysHelp := "cap of active API keys"
	if verb == "create" {
		keysHelp += " (default: the server's default_max_active_keys, 10 unless set)"
	}
	f.IntVar(&maxKeys, "max-active-keys", 0, keysHelp)
	f.BoolVar(&bindFields, "bind-fields", false, "seal new tokens bound to their field path (a token moved to another field will not open)")
	f.StringVar(&caFile, "upstream-ca", "", "PEM `FILE` of the CA certificates the upstream and destinations are verified against instead of the system's roots (\"\": back to the system's roots)")
	f.StringVar(&certFile, "upstream-client-cert", "", "PEM `FILE` of the client certificate chain presented to the upstream and destinations (with --upstream-client-key; both \"\" remove it)")
	f.StringVar(&keyFile, "upstream-client-key", "", "PEM `FILE` of the client certificate's private key (with --upstream-client-cert); sent once, stored sealed, never shown")
	if verb == "create" {
		cmd.MarkFlagRequired("name")
	}
	return cmd
}

func callProject(cl *clientFlags, w io.Writer, method, path string, body any) error {
	return callAndShow(cl, w, method, path, body, func(p wire.Project, t *table) {
		t.row("id", p.ID)
		t.row("name", p.Name)
		t.row("environment", p.Environment)
		t.row("upstream", orDash(p.Upstream))
		t.row("destinations", orDash(strings.Join(p.Destinations, ", ")))
		t.row("rate_limit", fmt.Sprintf("%g/s, burst %d", p.RateLimit.RequestsPerSecond, p.RateLimit.Burst))
		t.row("max_active_keys", strconv.Itoa(p.MaxActiveKeys))
		t.row("bind_fields", strconv.FormatBool(p.BindFields))
		t.row("upstream_ca", orDash(pemSummary(p.UpstreamCA)))
		t.row("upstream_client_cert", orDash(pemSummary(p.UpstreamClientCert)))
		t.row("upstream_client_key", keySetText(p.UpstreamClientKeySet))
		t.row("created_at", fmtTime(&p.CreatedAt, "-"))
	})
}

func listProjects(cl *clientFlags, w io.Writer) error {
	return printList(cl, w, "/admin/v1/projects", []string{"ID", "NAME", "ENVIRONMENT", "UPSTREAM", "RATE LIMIT", "CREATED"},
		func(p wire.Project) []string {
			return []string{p.ID, p.Name, p.Environment, orDash(p.Upstream),
				fmt.Sprintf("%g/s burst %d", p.RateLimit.RequestsPerSecond, p.RateLimit.Burst), fmtTime(&p.CreatedAt, "-")}
		})
}
