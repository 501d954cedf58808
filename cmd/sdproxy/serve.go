package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
	"github.com/sdproxy/sdproxy/metrics"
	"github.com/sdproxy/sdproxy/proxy"
)

func newServeCmd(getenv func(string) string) *cobra.Command {
	var configPath string
	flags := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy (data listener and admin listener)",
		Long: `Run the proxy. Settings come from flags, then SDPROXY_* environment
variables, then the config file (--config or SDPROXY_CONFIG), then defaults.

The master key comes from SDPROXY_MASTER_KEY (base64 of 32 bytes) or a
file (SDPROXY_MASTER_KEY_FILE, master_key_file); without either,
<data-dir>/master.key is created for development. The admin token comes
from SDPROXY_ADMIN_TOKEN or a file (SDPROXY_ADMIN_TOKEN_FILE,
admin_token_file), else <data-dir>/admin.token, created on first start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, flags, getenv)
			if err != nil {
				return err
			}
			// SIGHUP (reload certificates, reopen the sink) is taken from
			// before start-up, where its default action would kill the
			// process: one that comes while starting is acted on once
			// serving.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			// So are an interrupt and SIGTERM: one that comes while
			// starting (opening the store, a migration of the event
			// log, waiting for an old etcd registration) stops serve
			// once the step at hand is done, with everything closed,
			// instead of killing it in the middle of that step.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := newServer(ctx, cfg, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if errors.Is(err, errStoppedStarting) {
				newLogger(cfg.Log, cmd.ErrOrStderr()).Info("stopped while starting: nothing was served")
				return nil
			}
			if err != nil {
				return err
			}
			srv.hup = hup
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "config file, YAML or JSON (env SDPROXY_CONFIG)")
	f.StringVar(&flags.Listen, "listen", flags.Listen, "data listener address (env SDPROXY_LISTEN)")
	f.StringVar(&flags.AdminListen, "admin-listen", flags.AdminListen, "admin listener address (env SDPROXY_ADMIN_LISTEN)")
	f.StringVar(&flags.AdminAdvertise, "admin-advertise", "", "the admin API's URL as other instances reach it (env SDPROXY_ADMIN_ADVERTISE; default from --admin-listen)")
	f.StringVar(&flags.DataDir, "data-dir", flags.DataDir, "data directory (env SDPROXY_DATA_DIR)")
	f.IntVar(&flags.MaxBodyBytes, "max-body-bytes", flags.MaxBodyBytes, "largest request body on the data listener (env SDPROXY_MAX_BODY_BYTES)")
	f.StringVar(&flags.Log.Level, "log-level", flags.Log.Level, "debug, info, warn or error (env SDPROXY_LOG_LEVEL)")
	f.StringVar(&flags.Log.Format, "log-format", flags.Log.Format, "text or json (env SDPROXY_LOG_FORMAT)")
	f.StringVar(&flags.Events.Sink, "events-sink", "", "copy events as JSON lines to stdout or a file (env SDPROXY_EVENTS_SINK)")
	return cmd
}

// loadConfig applies default < file < env < flags and validates.
func loadConfig(cmd *cobra.Command, configPath string, flags config.Config, getenv func(string) string) (config.Config, error) {
	cfg := config.Default()
	if configPath == "" {
		configPath = getenv(config.EnvConfig)
	}
	if configPath != "" {
		if err := cfg.LoadFile(configPath); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(getenv); err != nil {
		return cfg, err
	}
	f := cmd.Flags()
	overlay := map[string]func(){
		"listen":          func() { cfg.Listen = flags.Listen },
		"admin-listen":    func() { cfg.AdminListen = flags.AdminListen },
		"admin-advertise": func() { cfg.AdminAdvertise = flags.AdminAdvertise },
		"data-dir":        func() { cfg.DataDir = flags.DataDir },
		"max-body-bytes":  func() { cfg.MaxBodyBytes = flags.MaxBodyBytes },
		"log-level":       func() { cfg.Log.Level = flags.Log.Level },
		"log-format":      func() { cfg.Log.Format = flags.Log.Format },
		"events-sink":     func() { cfg.Events.Sink = flags.Events.Sink },
	}
	for name, set := range overlay {
		if f.Changed(name) {
			set()
		}
	}
	return cfg, cfg.Validate()
}

// server is a running sdproxy: the store and both listeners.
type server struct {
	cfg       config.Config
	log       *slog.Logger
	store     *keystore.Store
	events    *events.Log
	metrics   *metrics.Metrics
	sink      io.Closer
	dataLn    net.Listener
	adminLn   net.Listener
	dataSrv   *fasthttp.Server
	data      *proxy.Data
	admin     *admin.Admin
	adminSrv  *fasthttp.Server
	tokenPath string
	// instanceID names this instance (in its events and among the
	// instances on etcd); members is the live list, joined in listen
	// and left in Run before the store is closed.
	instanceID string
	members    *keystore.Members
	// memberTTL is the membership lease's TTL. Zero means 10s.
	memberTTL time.Duration
	// starting is done when serve is told to stop while it starts.
	starting context.Context
	// expiryEvery is how often expired keys are looked for. Zero means 30s.
	expiryEvery time.Duration
	// certs reload the listeners' TLS certificates on a value from hup
	// (SIGHUP) and when their files change, checked every certPoll (zero
	// means 5s). A nil hup reloads on file changes only.
	certs    []*certReloader
	hup      <-chan os.Signal
	certPoll time.Duration
	// onExpired, when set, runs between taking expired keys from the store
	// and recording their events (tests).
	onExpired func()
}

// newServer does every start-up check that can fail, so that Run only
// serves: data dir, master key, store lock, admin token, both ports.
//
// When starting is done (a signal, in serve) before newServer is, it
// closes what it opened and returns errStoppedStarting: at the latest
// once listening, or at once while waiting for an old etcd registration.
func newServer(starting context.Context, cfg config.Config, getenv func(string) string, stdout, stderr io.Writer) (*server, error) {
	log := newLogger(cfg.Log, stderr)
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := checkDataDirMode(cfg.DataDir, log); err != nil {
		return nil, err
	}
	load := loadMasterKey
	if cfg.Store.Backend == config.BackendEtcd {
		load = loadSharedMasterKey // every instance needs the same key: none is generated
	}
	master, generated, err := load(cfg, getenv)
	if err != nil {
		return nil, err
	}
	if generated {
		log.Warn("no master key configured: generated one for development; set SDPROXY_MASTER_KEY or SDPROXY_MASTER_KEY_FILE in production", "file", masterKeyPath(cfg.DataDir))
	}
	instanceID, err := loadInstanceID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	store, err := openStore(cfg, getenv, master)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: log, store: store, instanceID: instanceID, starting: starting}
	if starting.Err() != nil {
		return nil, stoppedStarting(log, store.Close())
	}
	if err := s.openEvents(master, stdout); err != nil {
		store.Close()
		return nil, err
	}
	if starting.Err() != nil {
		return nil, stoppedStarting(log, s.closeOpened())
	}
	if err := s.listen(getenv); err != nil {
		s.closeOpened()
		return nil, err
	}
	if starting.Err() != nil {
		return nil, stoppedStarting(log, s.closeOpened())
	}
	return s, nil
}

// stoppedStarting logs what closing after a stop while starting failed
// to close (err), and returns errStoppedStarting.
func stoppedStarting(log *slog.Logger, err error) error {
	if err != nil {
		log.Error("stopped while starting: closing what was opened failed", "err", err)
	}
	return errStoppedStarting
}

// closeOpened closes what newServer opened — the listeners and the
// instance's registration when they are there, the event log and its
// sink, the store — for a start-up that does not go on to Run, and at the
// end of Run.
func (s *server) closeOpened() error {
	var err error
	for _, ln := range []net.Listener{s.dataLn, s.adminLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if s.members != nil {
		err = s.members.Close()
	}
	err = errors.Join(err, s.events.Close())
	if s.sink != nil {
		err = errors.Join(err, s.sink.Close())
	}
	return errors.Join(err, s.store.Close())
}
