package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// exportHeader heads an exported YAML file.
const exportHeader = `sdproxy policy file: projects (by name), their settings, classifications
and routes. Never API keys. Apply it with: sdproxy apply -f FILE [--dry-run] [--prune]
Format: docs/policy-as-code.md; JSON Schema: docs/sdproxy-config.schema.json`

func newExportCmd(getenv func(string) string) *cobra.Command {
	// The client's --output is "table or json"; export's is "yaml or json".
	cl := &clientFlags{getenv: getenv, output: "table"}
	var project, format string
	cmd := &cobra.Command{
		Use:   "export [--project NAME]",
		Short: "Write projects, classifications and routes as a policy file (never keys)",
		Long: `Write the server's projects (or the one named by --project), with their
settings, classifications and routes, in the format "sdproxy apply" reads:
YAML by default, JSON with --output json. API keys are never exported.
Applying the output to the same server changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "yaml" && format != "json" {
				return fmt.Errorf("--output must be yaml or json, got %q", format)
			}
			c, err := cl.client()
			if err != nil {
				return err
			}
			doc, err := exportPolicy(clientState{c}, project)
			if err != nil {
				return err
			}
			return writeExport(cmd.OutOrStdout(), doc, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cl.adminAddr, "admin-addr", "", "admin API base URL (env SDPROXY_ADMIN_ADDR, default http://127.0.0.1:8081)")
	f.StringVar(&cl.dataDir, "data-dir", "", "data directory holding admin.token when SDPROXY_ADMIN_TOKEN is unset (env SDPROXY_DATA_DIR, default ./sdproxy-data)")
	f.StringVar(&project, "project", "", "export only the project of this NAME (default: every project)")
	f.StringVarP(&format, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}

// exportDoc is a policy file as export writes it. Its members are the
// ones apply reads (policyTopKeys and the lists beside it).
type exportDoc struct {
	Version  int             `json:"version" yaml:"version"`
	Projects []exportProject `json:"projects" yaml:"projects"`
}

type exportProject struct {
	Name          string          `json:"name" yaml:"name"`
	Environment   string          `json:"environment" yaml:"environment"`
	Upstream      string          `json:"upstream" yaml:"upstream"`
	Destinations  []string        `json:"destinations" yaml:"destinations"`
	RateLimit     exportRateLimit `json:"rate_limit" yaml:"rate_limit"`
	MaxActiveKeys int             `json:"max_active_keys" yaml:"max_active_keys"`
	BindFields    bool            `json:"bind_fields" yaml:"bind_fields"`
	// UpstreamCA and UpstreamClientCert are written when set; the client
	// key never is (apply needs it only to change the certificate).
	UpstreamCA         string        `json:"upstream_ca,omitempty" yaml:"upstream_ca,omitempty"`
	UpstreamClientCert string        `json:"upstream_client_cert,omitempty" yaml:"upstream_client_cert,omitempty"`
	Classifications    []exportClass `json:"classifications,omitempty" yaml:"classifications,omitempty"`
	Routes             []exportRoute `json:"routes,omitempty" yaml:"routes,omitempty"`
}

type exportRateLimit struct {
	RequestsPerSecond float64 `json:"requests_per_second" yaml:"requests_per_second"`
	Burst             int     `json:"burst" yaml:"burst"`
}

type exportClass struct {
	Slug        string     `json:"slug" yaml:"slug"`
	Name        string     `json:"name" yaml:"name"`
	Description string     `json:"description" yaml:"description"`
	Mask        exportMask `json:"mask" yaml:"mask"`
}

type exportMask struct {
	ShowFirst int    `json:"show_first" yaml:"show_first"`
	ShowLast  int    `json:"show_last" yaml:"show_last"`
	Char      string `json:"char" yaml:"char"`
}

type exportRoute struct {
	Methods  []string        `json:"methods,omitempty" yaml:"methods,omitempty"`
	Path     string          `json:"path" yaml:"path"`
	Order    int             `json:"order" yaml:"order"`
	Request  *exportRequest  `json:"request,omitempty" yaml:"request,omitempty"`
	Response *exportResponse `json:"response,omitempty" yaml:"response,omitempty"`
}

type exportRequest struct {
	Mode           string        `json:"mode" yaml:"mode"`
	Fields         []string      `json:"fields" yaml:"fields"`
	Classification string        `json:"classification,omitempty" yaml:"classification,omitempty"`
	Require        []string      `json:"require,omitempty" yaml:"require,omitempty"`
	Index          []exportIndex `json:"index,omitempty" yaml:"index,omitempty"`
	SubjectField   string        `json:"subject_field,omitempty" yaml:"subject_field,omitempty"`
}

// exportIndex is a route's index rule, every member written out.
type exportIndex struct {
	Field     string `json:"field" yaml:"field"`
	Normalize string `json:"normalize" yaml:"normalize"`
	Name      string `json:"name" yaml:"name"`
	Bytes     int    `json:"bytes" yaml:"bytes"`
}

type exportResponse struct {
	Mode   string   `json:"mode" yaml:"mode"`
	Fields []string `json:"fields" yaml:"fields"`
}

// exportPolicy reads every project (or the one named only) from st. Two
// projects of one name cannot be exported: a policy file names projects
// by name.
func exportPolicy(st stateReader, only string) (exportDoc, error) {
	all, err := st.projects()
	if err != nil {
		return exportDoc{}, err
	}
	ids := map[string][]string{}
	var picked []wire.Project
	for _, p := range all {
		if only == "" || p.Name == only {
			if len(ids[p.Name]) == 0 {
				picked = append(picked, p)
			}
			ids[p.Name] = append(ids[p.Name], p.ID)
		}
	}
	if only != "" && len(picked) == 0 {
		return exportDoc{}, fmt.Errorf("no project is named %s", jsonText(only))
	}
	doc := exportDoc{Version: policyVersion, Projects: []exportProject{}}
	for _, p := range picked {
		if len(ids[p.Name]) > 1 {
			return exportDoc{}, fmt.Errorf("%d projects are named %s (%s): a policy file names projects by name; rename all but one",
				len(ids[p.Name]), jsonText(p.Name), strings.Join(ids[p.Name], ", "))
		}
		sp, err := st.project(p)
		if err != nil {
			return exportDoc{}, err
		}
		if err := sameRoutes(sp); err != nil {
			return exportDoc{}, err
		}
		doc.Projects = append(doc.Projects, exportOf(sp))
	}
	return doc, nil
}

// sameRoutes refuses a project with two routes of the same path and
// methods: the routes API takes them (the later one never matches), but a
// policy file matches routes by path and methods, and apply refuses a file
// that declares one twice.
func sameRoutes(sp *serverProject) error {
	ids := map[string][]string{}
	var keys []string
	for _, r := range sp.Routes {
		k := routeSpecOf(r).key()
		if len(ids[k]) == 0 {
			keys = append(keys, k)
		}
		ids[k] = append(ids[k], r.ID)
	}
	for _, k := range keys {
		if len(ids[k]) > 1 {
			return fmt.Errorf("project %s has %d routes %s (%s): a policy file matches routes by path and methods; delete all but one (only the first by order ever applies)",
				jsonText(sp.Project.Name), len(ids[k]), routeLabelOfKey(k), strings.Join(ids[k], ", "))
		}
	}
	return nil
}

// routeLabelOfKey is label() for a key(): "any /x" for no methods.
func routeLabelOfKey(k string) string {
	if strings.HasPrefix(k, " ") {
		return "any" + k
	}
	return k
}

// exportOf is one project as a policy file writes it.
func exportOf(sp *serverProject) exportProject {
	p := sp.Project
	out := exportProject{
		Name: p.Name, Environment: p.Environment, Upstream: p.Upstream, Destinations: nonNilStrings(p.Destinations),
		RateLimit:     exportRateLimit{p.RateLimit.RequestsPerSecond, p.RateLimit.Burst},
		MaxActiveKeys: p.MaxActiveKeys, BindFields: p.BindFields,
		UpstreamCA: p.UpstreamCA, UpstreamClientCert: p.UpstreamClientCert,
	}
	for _, c := range sp.Classes {
		out.Classifications = append(out.Classifications, exportClass{
			Slug: c.Slug, Name: c.Name, Description: c.Description, Mask: exportMask(c.Mask),
		})
	}
	for _, r := range sp.Routes {
		er := exportRoute{Methods: r.Methods, Path: r.Path, Order: r.Order}
		if q := r.Request; q != nil {
			er.Request = &exportRequest{Mode: q.Mode, Fields: q.Fields, Classification: q.Classification, Require: q.Require, SubjectField: q.SubjectField}
			for _, x := range q.Index {
				er.Request.Index = append(er.Request.Index, exportIndex(x))
			}
		}
		if q := r.Response; q != nil {
			er.Response = &exportResponse{Mode: q.Mode, Fields: q.Fields}
		}
		out.Routes = append(out.Routes, er)
	}
	return out
}

// writeExport writes doc as YAML or JSON.
func writeExport(w io.Writer, doc exportDoc, format string) error {
	var b []byte
	var err error
	if format == "json" {
		b, err = exportJSON(doc)
	} else {
		b, err = exportYAML(doc)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func exportJSON(doc exportDoc) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(doc)
	return b.Bytes(), err
}

// exportYAML writes doc in block style, with lists of strings (methods,
// fields, destinations) on one line.
func exportYAML(doc exportDoc) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(doc); err != nil {
		return nil, err
	}
	flowScalarLists(&n)
	n.HeadComment = exportHeader
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// flowScalarLists sets every list of scalars below n to flow style.
func flowScalarLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		flow := true
		for _, c := range n.Content {
			flow = flow && c.Kind == yaml.ScalarNode
		}
		if flow {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		flowScalarLists(c)
	}
}
