package main

import (
	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func newInstancesCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "instances",
		Short: "List the live sdproxy instances sharing the store (on bbolt: the one asked)",
		Long: `List the live sdproxy instances. On the etcd backend every instance
registers under a lease: one that stops (or loses etcd for longer than the
lease's 10 s) disappears from the list. On bbolt the list is the instance
asked. SELF marks the instance that answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printList(cl, cmd.OutOrStdout(), "/admin/v1/instances",
				[]string{"INSTANCE", "DATA", "ADMIN", "VERSION", "STARTED", "SELF"},
				func(in wire.Instance) []string {
					self := ""
					if in.Self {
						self = "*"
					}
					return []string{in.ID, in.DataAddress, in.AdminAddress, in.Version, fmtTime(&in.Started, "-"), self}
				})
		},
	}
	cl.register(cmd)
	return cmd
}
