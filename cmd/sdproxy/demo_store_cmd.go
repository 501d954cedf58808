package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/demo"
)

// newDemoStoreCmd runs the demo upstream store on its own, as the
// docker-compose stack's demo-store service does.
func newDemoStoreCmd() *cobra.Command {
	listen := "127.0.0.1:8082"
	cmd := &cobra.Command{
		Use:   "demo-store",
		Short: "Run only the demo upstream store (the JSON REST store of `sdproxy demo`)",
		Long: `Run the small in-memory JSON REST store that "sdproxy demo" uses as its
upstream (POST /posts, GET /posts, GET /posts/{id}; at most 10,000 posts),
on its own: the docker-compose stack runs it as a separate service so that
what reaches a service through the proxy can be read straight from it. It
is a demo: its posts are lost when it stops. Stops on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("demo store listener %s: %w", listen, err)
			}
			srv := newHTTPServer("demo-store", (&demo.Store{}).Handler, nil, 1<<20, slog.New(slog.DiscardHandler))
			fmt.Fprintf(cmd.OutOrStdout(), "demo store listening on %s\n", ln.Addr())
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return err
			case <-sig:
				return srv.Shutdown()
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", listen, "address to listen on")
	return cmd
}
