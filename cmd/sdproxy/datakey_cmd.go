package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// dataKeyView is a data-key version as the admin API returns it.
type dataKeyView struct {
	Version   uint32    `json:"version"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Seals     uint64    `json:"seals"`
}

func newDataKeyCmd(cl *clientFlags) *cobra.Command {
	var project string
	cmd := &cobra.Command{Use: "datakey", Short: "List and rotate a project's data-key versions (never key material)"}
	cl.register(cmd)
	cmd.PersistentFlags().StringVar(&project, "project", "", "project id (required)")
	cmd.MarkPersistentFlagRequired("project")
	path := func() string { return "/admin/v1/projects/" + project + "/datakeys" }
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List data-key versions", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return listDataKeys(cl, cmd.OutOrStdout(), path()) },
		},
		&cobra.Command{
			Use: "rotate", Short: "Make a new data-key version current; older ones keep decrypting", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := cl.client()
				if err != nil {
					return err
				}
				raw, err := c.do("POST", path()+"/rotate", nil)
				if err != nil {
					return err
				}
				if cl.output == "json" {
					return printJSON(cmd.OutOrStdout(), raw)
				}
				var d dataKeyView
				if err := json.Unmarshal(raw, &d); err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Data key version %d is now current for project %s.\n", d.Version, project)
				return err
			},
		},
	)
	return cmd
}

func listDataKeys(cl *clientFlags, w io.Writer, path string) error {
	return printList(cl, w, path, []string{"VERSION", "STATUS", "SEALS", "CREATED"},
		func(d dataKeyView) []string {
			return []string{"v" + strconv.FormatUint(uint64(d.Version), 10), d.Status, strconv.FormatUint(d.Seals, 10), fmtTime(&d.CreatedAt, "-")}
		})
}
