package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/demo"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

func newDemoCmd() *cobra.Command {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:8080"
	storeListen := "127.0.0.1:8082"
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a throw-away sdproxy with a demo upstream, project and key, and print curl commands to try",
		Long: `Run sdproxy on a temporary data directory together with a small demo upstream
(a JSON REST store: POST /posts, GET /posts, GET /posts/{id}), create a demo
project whose upstream is that store, create an API key, and print
ready-to-paste curl commands. Everything is deleted when it stops (Ctrl-C).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, cfg, storeListen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "data listener address")
	f.StringVar(&cfg.AdminListen, "admin-listen", cfg.AdminListen, "admin listener address")
	f.StringVar(&storeListen, "store-listen", storeListen, "demo upstream store address")
	return cmd
}

func runDemo(cmd *cobra.Command, cfg config.Config, storeListen string) error {
	dir, err := os.MkdirTemp("", "sdproxy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir = dir
	cfg.Log.Level = "warn"
	storeLn, err := net.Listen("tcp", storeListen)
	if err != nil {
		return fmt.Errorf("demo store listener %s: %w", storeListen, err)
	}
	storeSrv := newHTTPServer("demo-store", (&demo.Store{}).Handler, nil, 1<<20, slog.New(slog.DiscardHandler))
	go storeSrv.Serve(storeLn)
	defer storeSrv.Shutdown()
	noEnv := func(string) string { return "" }
	srv, err := newServer(cfg, noEnv, io.Discard, io.Discard)
	if err != nil {
		return err
	}
	info, err := seedDemo(srv.store, "http://"+storeLn.Addr().String())
	if err != nil {
		srv.events.Close()
		srv.store.Close()
		return err
	}
	keyID := info.KeyID
	srv.events.Record(events.Event{Type: events.TypeProjectCreated, Time: time.Now().UTC(), ProjectID: info.Project, Actor: "sdproxy demo"})
	srv.events.Record(events.Event{Type: events.TypeKeyCreated, Time: time.Now().UTC(), ProjectID: info.Project, KeyID: &keyID, Actor: "sdproxy demo"})
	info.Proxy = "http://" + srv.dataLn.Addr().String()
	info.Admin = "http://" + srv.adminLn.Addr().String()
	info.Store = "http://" + storeLn.Addr().String()
	info.TokenFile = srv.tokenPath
	info.DataDir = dir
	if err := demoText.Execute(cmd.OutOrStdout(), info); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}

// demoInfo fills the text printed by `sdproxy demo`.
type demoInfo struct {
	Project, Key, KeyID            string
	Proxy, Admin, Store, TokenFile string
	DataDir                        string
}

// seedDemo creates the demo project (upstream: the demo store) and a key.
func seedDemo(s *keystore.Store, storeURL string) (demoInfo, error) {
	name := "Demo"
	dest := []string{storeURL}
	p, err := s.CreateProject(keystore.ProjectInput{Name: &name, Upstream: &storeURL, Destinations: &dest})
	if err != nil {
		return demoInfo{}, err
	}
	k, err := s.CreateKey(p.ID, keystore.KeyInput{Name: "demo"})
	if err != nil {
		return demoInfo{}, err
	}
	return demoInfo{Project: p.ID, Key: k.Secret, KeyID: k.ID}, nil
}

var demoText = template.Must(template.New("demo").Parse(`
sdproxy demo is running. Everything is thrown away when you stop it (Ctrl-C).

  Proxy (data listener)  {{.Proxy}}
  Admin API              {{.Admin}}   (token in {{.TokenFile}})
  Demo upstream store    {{.Store}}   (a JSON REST store: POST /posts, GET /posts, GET /posts/{id})
  Project                {{.Project}}   (its upstream is the demo store)
  API key {{.KeyID}}     shown once, here:

      {{.Key}}

Try it, in another terminal (copy and paste):

  export KEY={{.Key}}

  # 1. Encrypt only: the proxy answers with title and body encrypted; nothing is stored.
  curl -s {{.Proxy}}/proxy/{{.Project}} \
    -H "X-Qanapi-Authorization: $KEY" -H "X-Qanapi-Mode: encrypt" -H "X-Qanapi-Fields: title,body" \
    -H "Content-Type: application/json" \
    -d '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}'

  # 2. Write through the proxy: the store behind it receives only ciphertext.
  curl -s {{.Proxy}}/proxy/{{.Project}}/posts \
    -H "X-Qanapi-Authorization: $KEY" -H "X-Qanapi-Fields: title,body" \
    -H "Content-Type: application/json" \
    -d '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}'

  # 3. Read what the store holds, straight from the store (no proxy): ciphertext.
  curl -s {{.Store}}/posts/1

  # 4. Decrypt it back through the proxy.
  curl -s {{.Store}}/posts/1 | curl -s {{.Proxy}}/proxy/{{.Project}} \
    -H "X-Qanapi-Authorization: $KEY" -H "X-Qanapi-Mode: decrypt" -H "X-Qanapi-Fields: title,body" \
    -H "Content-Type: application/json" --data-binary @-

  # 5. The direct API: one value in, one token out, and back.
  curl -s {{.Proxy}}/api-v1/v1/encrypt -H "X-Qanapi-Authorization: $KEY" \
    -H "Content-Type: application/json" -d '{"data": "Your sensitive data"}'

  # Manage keys with the CLI:
  sdproxy key list --project {{.Project}} --admin-addr {{.Admin}} --data-dir {{.DataDir}}

`))
