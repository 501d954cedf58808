package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/console"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/authfail"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
	"github.com/sdproxy/sdproxy/metrics"
	"github.com/sdproxy/sdproxy/proxy"
)

// listen binds both ports and builds the handlers. A port in use fails here,
// before anything is served.
func (s *server) listen(getenv func(string) string) error {
	token, tokenPath, err := loadAdminToken(s.cfg, getenv)
	if err != nil {
		return err
	}
	s.tokenPath = tokenPath
	dataTLS, adminTLS, certs, err := listenerTLS(s.cfg, s.log)
	if err != nil {
		return err
	}
	s.certs = certs
	if s.dataLn, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("data listener %s: %w", s.cfg.Listen, err)
	}
	if s.adminLn, err = net.Listen("tcp", s.cfg.AdminListen); err != nil {
		s.dataLn.Close()
		return fmt.Errorf("admin listener %s: %w", s.cfg.AdminListen, err)
	}
	s.dataLn, s.adminLn = wrapTLS(s.dataLn, dataTLS), wrapTLS(s.adminLn, adminTLS)
	data := proxy.NewData(dataOptions(s.cfg, s.store, s.events, s.log))
	s.data = data
	// Instances call each other's admin APIs as the CLI does: with
	// SDPROXY_ADMIN_CA_FILE and SDPROXY_ADMIN_CLIENT_CERT_FILE/_KEY_FILE.
	// Read before joining, so that a failure leaves no registration.
	peerTLS, err := adminClientTLS(getenv)
	if err != nil {
		s.dataLn.Close()
		s.adminLn.Close()
		return err
	}
	if err := s.join(); err != nil {
		s.dataLn.Close()
		s.adminLn.Close()
		return err
	}
	if s.cfg.Store.Backend == config.BackendEtcd && s.cfg.AdminTLS.ClientCAFile != "" && (peerTLS == nil || len(peerTLS.Certificates) == 0) {
		s.log.Warn("admin listeners require client certificates but this instance has none for calling the others (set " +
			config.EnvAdminClientCertFile + " and " + config.EnvAdminClientKeyFile + "): the merged event list will list them as unreachable")
	}
	adm := admin.New(admin.Options{
		Store: s.store, Token: token, Logger: s.log, Events: s.events, Members: s.members,
		MergeEvents: s.cfg.Store.Backend == config.BackendEtcd, PeerTLS: peerTLS,
		Ready:        func() error { return errors.Join(s.store.Ready(), s.events.Ready()) },
		AuthFailures: authFailureOptions(s.cfg),
	})
	s.admin = adm
	s.metrics.WatchAuthFailures(func() float64 { return float64(data.AuthFailures()) }, func() float64 { return float64(adm.AuthFailures()) })
	s.metrics.WatchDecryptBudgets(func() []metrics.BudgetSample { return budgetSamples(s.store.BudgetGauges()) })
	s.metrics.WatchProjects(func(id string) bool { return s.store.CachedProject([]byte(id)) != nil })
	mux := adminHandler(s.adminLn.Addr(), s.cfg.AdminAdvertise, adm, console.New(), s.metrics.Handler())
	s.adminSrv = newHTTPServer("sdproxy-admin", mux, adm.ServerErrorHandler, admin.MaxBodyBytes, s.log)
	adm.ConfigureServer(s.adminSrv)
	s.dataSrv = newHTTPServer("sdproxy", data.Handler, data.ServerErrorHandler, s.cfg.MaxBodyBytes, s.log)
	data.ConfigureServer(s.dataSrv)
	s.dataSrv.MaxConnsPerIP = s.cfg.Limits.MaxConnsPerIP
	return nil
}

// budgetSamples turns the store's decrypt budget gauges into the metrics'.
func budgetSamples(gs []keystore.BudgetGauge) []metrics.BudgetSample {
	out := make([]metrics.BudgetSample, len(gs))
	for i, g := range gs {
		out[i] = metrics.BudgetSample{Project: g.ProjectID, Key: g.KeyID, Remaining: float64(g.Remaining)}
	}
	return out
}

// dataOptions turns the configuration into the data plane's options.
func dataOptions(cfg config.Config, store *keystore.Store, log *events.Log, logger *slog.Logger) proxy.DataOptions {
	return proxy.DataOptions{
		Store: store, Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes, Events: log, Audit: log,
		UnauthBodyBytes: min(cfg.Limits.UnauthBodyBytes, cfg.MaxBodyBytes),
		MaxValues:       cfg.Limits.MaxValues, MaxOutputBytes: cfg.Limits.MaxOutputBytes,
		AuthFailures: authFailureOptions(cfg),
	}
}

// authFailureOptions is limits.auth_failures, for the data listener's
// API keys and the admin listener's token alike (each counts its own).
func authFailureOptions(cfg config.Config) authfail.Options {
	af := cfg.Limits.AuthFailures
	perSecond := af.PerSecond
	if perSecond == 0 {
		perSecond = -1 // off
	}
	return authfail.Options{PerSecond: perSecond, Burst: af.Burst, Interval: af.SummaryInterval}
}

// adminMux serves the web console under /ui/, Prometheus metrics on
// /metrics and the admin API elsewhere.
func adminMux(api *admin.Admin, ui *console.Console, metrics fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		p := ctx.Path()
		if string(p) == "/metrics" {
			// The metrics handler (fasthttpadaptor) would read a streamed
			// body whole, with no limit, for anyone: it has no use for
			// one, so it gets none.
			ctx.Request.ResetBody()
			metrics(ctx)
			return
		}
		if string(p) == "/" || string(p) == "/ui" {
			// A path, not fasthttp's Redirect: that one writes an
			// absolute URL from the request's Host, which the sender
			// chooses.
			ctx.Response.Header.Set(fasthttp.HeaderLocation, console.Prefix)
			ctx.SetStatusCode(fasthttp.StatusFound)
			return
		}
		if bytes.HasPrefix(p, []byte(console.Prefix)) {
			ui.Handler(ctx)
			return
		}
		api.Handler(ctx)
	}
}

// adminHandler is the admin listener's handler: the host guard, then
// adminMux. A body the server has not read whole before the handler
// (admin.UnauthBodyBytes) is read only by the API, once the request is
// authenticated (admin.Handler keeps the connection then): any other
// answer — the host guard's 421, /metrics, the console, a refusal —
// ends the connection, rather than the server reading and draining the
// body for a caller that has shown no token.
func adminHandler(bound net.Addr, advertise string, api *admin.Admin, ui *console.Console, metrics fasthttp.RequestHandler) fasthttp.RequestHandler {
	next := loopbackHostGuard(bound, advertise, adminMux(api, ui, metrics))
	return func(ctx *fasthttp.RequestCtx) {
		if admin.BodyUnread(ctx) {
			ctx.SetConnectionClose()
		}
		next(ctx)
	}
}

// newHTTPServer sets every limit and timeout explicitly: fasthttp's zero
// values mean "none".
func newHTTPServer(name string, h fasthttp.RequestHandler, onError func(*fasthttp.RequestCtx, error), maxBody int, log *slog.Logger) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               recovering(name, h, log),
		Name:                  name,
		NoDefaultServerHeader: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		MaxRequestBodySize:    maxBody,
		Concurrency:           64 * 1024,
		MaxConnsPerIP:         0,
		ReadBufferSize:        16 << 10,
		Logger:                fasthttpLogger{log},
		ErrorHandler:          onError,
		// fasthttp's error messages may quote the request (API keys,
		// field values): never let them reach the log.
		SecureErrorLogMessage: true,
	}
}

// Run serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, "last used" times are flushed, the store is closed.
func (s *server) Run(ctx context.Context) error {
	s.log.Info("sdproxy serving",
		"version", version, "instance_id", s.instanceID, "data_listen", s.dataLn.Addr().String(), "admin_listen", s.adminLn.Addr().String(),
		"data_tls", s.cfg.TLS.Enabled(), "admin_tls", s.cfg.AdminTLS.Enabled(), "admin_client_certs", s.cfg.AdminTLS.ClientCAFile != "",
		"data_dir", s.cfg.DataDir, "admin_token_file", s.tokenPath)
	errc := make(chan error, 2)
	go func() { errc <- s.dataSrv.Serve(s.dataLn) }()
	go func() { errc <- s.adminSrv.Serve(s.adminLn) }()
	// The background workers use the store and the event log: they run
	// in one group that is joined before either is closed.
	bgCtx, stopBG := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() {
		s.store.RunFlusher(bgCtx, s.cfg.LastUsedFlush, func(err error) { s.log.Error("flush last used", "err", err) })
	})
	bg.Go(func() { s.watchExpiry(bgCtx, cmp.Or(s.expiryEvery, 30*time.Second)) })
	bg.Go(func() { s.data.RunAuthFailureSummaries(bgCtx.Done()) })
	bg.Go(func() { s.admin.RunAuthFailureSummaries(bgCtx.Done()) })
	certHUP := make(chan os.Signal, 1)
	bg.Go(func() { s.reopenSinkOnHUP(bgCtx, s.hup, certHUP) })
	bg.Go(func() { watchCerts(bgCtx, cmp.Or(s.certPoll, 5*time.Second), certHUP, s.certs...) })
	defer func() { stopBG(); bg.Wait() }()
	var serveErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case serveErr = <-errc:
		s.log.Error("listener stopped", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Both servers at once, so that both listeners close now. A server
	// waits for a connection that has not sent its first request until 5 s
	// after it was accepted (fasthttp counts it idle then, as net/http
	// does); one after the other, the admin listener would go on accepting
	// connections, each with 5 s of its own, while the data server waited.
	var dataErr, adminErr error
	var down sync.WaitGroup
	down.Go(func() { dataErr = s.dataSrv.ShutdownWithContext(sctx) })
	down.Go(func() { adminErr = s.adminSrv.ShutdownWithContext(sctx) })
	down.Wait()
	err := errors.Join(serveErr, dataErr, adminErr)
	stopBG()
	bg.Wait()
	err = errors.Join(err, s.closeOpened()) // the listeners are closed already
	s.log.Info("stopped")
	return err
}

// startupError turns a store error into a one-line reason.
func startupError(err error) error {
	switch {
	case errors.Is(err, keystore.ErrLocked):
		return errors.New("data directory is locked by another sdproxy process (only one may use it)")
	case errors.Is(err, keystore.ErrWrongMasterKey):
		return errors.New("the master key does not match this data directory: refusing to start (check SDPROXY_MASTER_KEY / SDPROXY_MASTER_KEY_FILE)")
	}
	return err
}

// ensureDataDir creates dir (0700) and checks that it is writable.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(filepath.Clean(f.Name()))
}

// checkDataDirMode refuses a data directory that any user may write in:
// one could replace sdproxy.db (the keys) or events.db (the audit log)
// with files of their own. It warns when group or others may read or
// write in it (a directory made by hand or a volume's default): the files
// sdproxy creates are 0600, but their names and sizes, and in a
// group-writable one the files themselves, are exposed.
func checkDataDirMode(dir string, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	mode := fi.Mode().Perm()
	if mode&0o002 != 0 {
		return fmt.Errorf("data directory %s is writable by every user (mode %04o): anyone could replace the key store or the event log; chmod 700 it", dir, mode)
	}
	if mode&0o077 != 0 {
		log.Warn("data directory is open to group or others: chmod 700 it", "dir", dir, "mode", fmt.Sprintf("%04o", mode))
	}
	return nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// fasthttpLogger routes fasthttp's own messages to slog at debug level.
// Those messages can quote what a client sent (an API key, a field value),
// even with SecureErrorLogMessage, so every quoted part is withheld.
type fasthttpLogger struct{ log *slog.Logger }

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(redactQuoted(fmt.Sprintf(format, args...)))
}

// redactQuoted replaces every double-quoted part of msg and anything after
// "contents:" with a placeholder.
func redactQuoted(msg string) string {
	if i := strings.Index(msg, "contents:"); i >= 0 {
		msg = msg[:i] + "contents withheld"
	}
	return quoted.ReplaceAllString(msg, `"[withheld]"`)
}

// recovering answers a request whose handler panics with 500
// internal_error and one log line (the panic's type and, for a runtime
// error, its message; the stack; never the request), instead of letting
// the panic end the process with every other request in flight. fasthttp
// does not recover handler panics.
func recovering(name string, h fasthttp.RequestHandler, log *slog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			what := fmt.Sprintf("%T", r)
			if re, ok := r.(runtime.Error); ok {
				what = re.Error() // index and slice bounds: numbers, never data
			}
			reqID := string(ctx.Response.Header.Peek(httpapi.HeaderRequestID))
			log.Error("handler panicked: answered 500", "server", name, "request_id", reqID,
				"method", string(ctx.Method()), "panic", what, "stack", string(debug.Stack()))
			ctx.Response.Reset()
			if reqID != "" {
				ctx.Response.Header.Set(httpapi.HeaderRequestID, reqID)
			}
			httpapi.WriteError(ctx, nil, func(error) (*httpapi.Error, bool) { return httpapi.ErrInternal, true }, httpapi.ErrInternal)
			ctx.SetConnectionClose()
		}()
		h(ctx)
	}
}
