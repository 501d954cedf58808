// Command sdproxy is the Smart Data Proxy: `sdproxy serve` runs it, the
// other commands are clients of its admin API.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes the CLI with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRootCmd(stdout, stderr, getenv)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "sdproxy:", escapeCell(strings.ReplaceAll(err.Error(), "\n", "; ")))
		return 1
	}
	return 0
}

func newRootCmd(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "sdproxy",
		Short: "sdproxy, the self-hosted Smart Data Proxy",
		Long: `sdproxy authenticates callers with project-scoped API keys and encrypts or
decrypts the JSON fields they name, on their way to an upstream service.

Run the proxy with "sdproxy serve". The other commands manage a running
proxy through its admin API (see --admin-addr).`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	cl := &clientFlags{getenv: getenv}
	root.AddCommand(
		newServeCmd(getenv),
		newDemoCmd(),
		newDemoStoreCmd(),
		newCryptCmd("encrypt", getenv),
		newCryptCmd("decrypt", getenv),
		newIndexCmd(getenv),
		newProjectCmd(cl),
		newKeyCmd(cl),
		newDataKeyCmd(cl),
		newSubjectCmd(cl),
		newRouteCmd(cl),
		newPreviewCmd(cl),
		newClassificationCmd(cl),
		newInstancesCmd(cl),
		newEventsCmd(&clientFlags{getenv: getenv}, getenv),
		newApplyCmd(getenv),
		newExportCmd(getenv),
		newStoreCmd(getenv),
		newHealthcheckCmd(getenv),
		newSecretsInitCmd(),
	)
	return root
}
