package main

import (
	"errors"
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
project whose upstream is that store, with routes that encrypt a post's title
and body on the way in and decrypt them on the way out, create three API keys
(full, masked reads, encrypt only), and print ready-to-paste curl commands.
Everything is deleted when it stops (Ctrl-C).`,
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
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := newServer(ctx, cfg, noEnv, io.Discard, io.Discard)
	if errors.Is(err, errStoppedStarting) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := seedDemo(srv.store, "http://"+storeLn.Addr().String())
	if err != nil {
		srv.closeOpened()
		return err
	}
	srv.events.Record(events.Event{Type: events.TypeProjectCreated, Time: time.Now().UTC(), ProjectID: info.Project, Actor: "sdproxy demo"})
	for _, id := range []string{info.KeyID, info.MaskedKeyID, info.EncryptKeyID} {
		srv.events.Record(events.Event{Type: events.TypeKeyCreated, Time: time.Now().UTC(), ProjectID: info.Project, KeyID: &id, Actor: "sdproxy demo"})
	}
	for _, id := range info.RouteIDs {
		srv.events.Record(events.Event{Type: events.TypeRouteCreated, Time: time.Now().UTC(), ProjectID: info.Project, Actor: "sdproxy demo",
			Details: map[string]string{"route_id": id, "path": "/posts/**"}})
	}
	info.Proxy = "http://" + srv.dataLn.Addr().String()
	info.Admin = "http://" + srv.adminLn.Addr().String()
	info.Store = "http://" + storeLn.Addr().String()
	info.TokenFile = srv.tokenPath
	info.DataDir = dir
	if err := demoText.Execute(cmd.OutOrStdout(), info); err != nil {
		return err
	}
	return srv.Run(ctx)
}

// demoInfo fills the text printed by `sdproxy demo`.
type demoInfo struct {
	Project, Key, KeyID            string
	MaskedKey, MaskedKeyID         string
	EncryptKey, EncryptKeyID       string
	RouteIDs                       []string
	Proxy, Admin, Store, TokenFile string
	DataDir                        string
}

// demoRoutes make the demo store an app that changed only its base URL:
// writes have title and body encrypted, reads have them decrypted (or
// masked, or left as tokens, by the key's permissions), lists included.
var demoRoutes = []keystore.RouteInput{
	{
		Methods: []string{"POST", "PUT", "PATCH"}, Path: "/posts/**", Order: 10,
		Request:  &keystore.RoutePhase{Mode: keystore.ModeEncrypt, Fields: []string{"title", "body"}, Require: []string{"title"}},
		Response: &keystore.RoutePhase{Mode: keystore.ModeDecrypt, Fields: []string{"title", "body"}},
	},
	{
		Methods: []string{"GET"}, Path: "/posts/**", Order: 20,
		Response: &keystore.RoutePhase{Mode: keystore.ModeDecrypt, Fields: []string{"title", "body"}},
	},
}

// seedDemo creates the demo project (upstream: the demo store), its
// routes and three keys.
func seedDemo(s *keystore.Store, storeURL string) (demoInfo, error) {
	name := "Demo"
	dest := []string{storeURL}
	p, err := s.CreateProject(keystore.ProjectInput{Name: &name, Upstream: &storeURL, Destinations: &dest})
	if err != nil {
		return demoInfo{}, err
	}
	info := demoInfo{Project: p.ID}
	for _, in := range demoRoutes {
		r, err := s.CreateRoute(p.ID, in)
		if err != nil {
			return demoInfo{}, err
		}
		info.RouteIDs = append(info.RouteIDs, r.ID)
	}
	for _, k := range []struct {
		in         keystore.KeyInput
		secret, id *string
	}{
		{keystore.KeyInput{Name: "demo"}, &info.Key, &info.KeyID},
		{keystore.KeyInput{Name: "demo-masked", Permissions: []string{keystore.PermDecryptMasked}}, &info.MaskedKey, &info.MaskedKeyID},
		{keystore.KeyInput{Name: "demo-encrypt-only", Permissions: []string{keystore.PermEncrypt}}, &info.EncryptKey, &info.EncryptKeyID},
	} {
		nk, err := s.CreateKey(p.ID, k.in)
		if err != nil {
			return demoInfo{}, err
		}
		*k.secret, *k.id = nk.Secret, nk.ID
	}
	return info, nil
}

var demoText = template.Must(template.New("demo").Parse(`
sdproxy demo is running. Everything is thrown away when you stop it (Ctrl-C).

  Proxy (data listener)  {{.Proxy}}
  Admin API              {{.Admin}}   (token in {{.TokenFile}})
  Demo upstream store    {{.Store}}   (a JSON REST store: POST /posts, GET /posts, GET /posts/{id})
  Project                {{.Project}}   (its upstream is the demo store)
  Routes                 POST/PUT/PATCH /posts/**: encrypt title, body; every answer: decrypt them
  API keys, shown once, here:
      full (encrypt, decrypt)   {{.Key}}
      masked reads              {{.MaskedKey}}
      encrypt only              {{.EncryptKey}}

Try it, in another terminal (copy and paste). The app sends no X-Qanapi-* header
but its key: the project's routes decide what is encrypted and decrypted.

  export KEY={{.Key}} MASKED={{.MaskedKey}} ENCONLY={{.EncryptKey}}
  export APP={{.Proxy}}/proxy/{{.Project}}

  # 1. Write through the proxy, as the app would (its base URL is $APP).
  curl -s $APP/posts -H "X-Qanapi-Authorization: $KEY" -H "Content-Type: application/json" \
    -d '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}'

  # 2. What the store holds, read straight from it (no proxy): ciphertext.
  curl -s {{.Store}}/posts/1

  # 3. The same read through the proxy: plaintext for the full key...
  curl -s $APP/posts/1 -H "X-Qanapi-Authorization: $KEY"

  # 4. ...masked for a decrypt_masked key, and tokens for an encrypt-only key.
  curl -s $APP/posts/1 -H "X-Qanapi-Authorization: $MASKED"
  curl -s $APP/posts/1 -H "X-Qanapi-Authorization: $ENCONLY"

  # 5. A list read decrypts every element.
  curl -s $APP/posts -H "X-Qanapi-Authorization: $KEY"

  # 6. One-off calls with headers, and the direct API: one value in, one token out.
  curl -s {{.Proxy}}/proxy/{{.Project}} -H "X-Qanapi-Authorization: $KEY" \
    -H "X-Qanapi-Mode: encrypt" -H "X-Qanapi-Fields: ssn" -d '{"ssn": "123-45-6789"}'
  curl -s {{.Proxy}}/api-v1/v1/encrypt -H "X-Qanapi-Authorization: $KEY" \
    -H "Content-Type: application/json" -d '{"data": "Your sensitive data"}'

  # Routes, keys and events with the CLI:
  sdproxy route list --project {{.Project}} --admin-addr {{.Admin}} --data-dir {{.DataDir}}
  sdproxy events --project {{.Project}} --admin-addr {{.Admin}} --data-dir {{.DataDir}}

`))
