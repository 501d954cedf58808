package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func newDataKeyCmd(cl *clientFlags) *cobra.Command {
	cmd, project, path := projectScopedCmd(cl, "datakey", "List and rotate a project's data-key versions (never key material)", "/datakeys")
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
				var d wire.DataKey
				if err := json.Unmarshal(raw, &d); err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Data key version %d is now current for project %s.\n", d.Version, *project)
				return err
			},
		},
	)
	return cmd
}

func listDataKeys(cl *clientFlags, w io.Writer, path string) error {
	return printList(cl, w, path, []string{"VERSION", "STATUS", "SEALS", "CREATED"},
		func(d wire.DataKey) []string {
			return []string{"v" + strconv.FormatUint(uint64(d.Version), 10), d.Status, strconv.FormatUint(d.Seals, 10), fmtTime(&d.CreatedAt, "-")}
		})
}
