package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/keystore"
)

func newStoreCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on a store directly (not through a running proxy)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newStoreCopyCmd(getenv))
	return cmd
}

// storeCopyFlags are the flags of `store copy`.
type storeCopyFlags struct {
	from, to, configPath, output string
	overwrite, merge             bool
}

func newStoreCopyCmd(getenv func(string) string) *cobra.Command {
	var f storeCopyFlags
	cmd := &cobra.Command{
		Use:   "copy --from bbolt:DIR --to etcd:ENDPOINTS",
		Short: "Copy every record of one store into another (bbolt to etcd, or back)",
		Long: `Copy projects, API keys, data keys (with their seal counters), routes and
classifications from one store to another, so that a project's keys and
tokens go on working after the move. A store is named bbolt:DIR (a data
directory) or etcd:ENDPOINTS (comma-separated client URLs, optionally
followed by ?prefix=/x/). For etcd, the prefix, TLS files, user and password
come from the store.etcd settings (SDPROXY_ETCD_*, --config) unless the
name gives them; "etcd:" alone uses SDPROXY_ETCD_ENDPOINTS.

The master key (SDPROXY_MASTER_KEY, SDPROXY_MASTER_KEY_FILE, or master.key
in the bbolt data directory) must open both stores. A bbolt directory in
use by a running "sdproxy serve" is refused: stop it first. Copy before
starting instances on the destination.

Records already equal at the destination are left alone, so running the
copy again copies nothing. A record that differs at the destination is
reported and kept (exit status 1) unless --overwrite. Never overwritten,
even with --overwrite: a data-key version with other key material, an API
key's record (so a revocation at the destination stays), a project's
data-key state (a retired version stays retired) and a subject erased at
the destination (it stays erased).

A destination without projects takes every record. One that already
holds projects (an earlier copy, or a copy that stopped part way) takes
the records it lacks only with --merge: a record missing there may have
been deleted there since (a project deleted because its keys leaked, a
route taken out), and copying it would bring it back. Without --merge
they are reported (exit status 1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.output != "table" && f.output != "json" {
				return fmt.Errorf("--output must be table or json, got %q", f.output)
			}
			return runStoreCopy(cmd.OutOrStdout(), f, getenv)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the store to copy from: bbolt:DIR or etcd:ENDPOINTS[?prefix=/x/] (required)")
	fl.StringVar(&f.to, "to", "", "the store to copy into: bbolt:DIR or etcd:ENDPOINTS[?prefix=/x/] (required)")
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace destination records that differ from the source's")
	fl.BoolVar(&f.merge, "merge", false, "also copy records that a destination already holding projects lacks (else reported: they may have been deleted there)")
	fl.StringVar(&f.configPath, "config", "", "config file with the store.etcd settings (env SDPROXY_CONFIG)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// storeSpec is a store named on the command line.
type storeSpec struct {
	name      string // as given
	backend   string // config.BackendBbolt or config.BackendEtcd
	dir       string
	endpoints []string
	prefix    string
}

// parseStoreSpec reads bbolt:DIR or etcd:ENDPOINTS[?prefix=P].
func parseStoreSpec(s string) (storeSpec, error) {
	sp := storeSpec{name: s}
	backend, rest, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return sp, fmt.Errorf("store %q: want bbolt:DIR or etcd:ENDPOINTS", s)
	case backend == config.BackendBbolt:
		if rest == "" {
			return sp, fmt.Errorf("store %q: name the data directory (bbolt:DIR)", s)
		}
		sp.backend, sp.dir = backend, rest
		return sp, nil
	case backend != config.BackendEtcd:
		return sp, fmt.Errorf("store %q: the backend must be bbolt or etcd", s)
	}
	sp.backend = backend
	eps, query, _ := strings.Cut(rest, "?")
	sp.endpoints = config.CommaList(eps).Items()
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "":
		case "prefix":
			sp.prefix = v
		default:
			return sp, fmt.Errorf("store %q: unknown setting %q (only prefix)", s, k)
		}
	}
	return sp, nil
}

func runStoreCopy(w io.Writer, f storeCopyFlags, getenv func(string) string) error {
	from, err := parseStoreSpec(f.from)
	if err != nil {
		return err
	}
	to, err := parseStoreSpec(f.to)
	if err != nil {
		return err
	}
	cfg, err := storeCopyConfig(f.configPath, getenv)
	if err != nil {
		return err
	}
	master, err := copyMasterKey(cfg, getenv, from, to)
	if err != nil {
		return err
	}
	src, err := openCopyStore(cfg, getenv, master, from, true)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openCopyStore(cfg, getenv, master, to, false)
	if err != nil {
		return err
	}
	defer dst.Close()
	report, err := keystore.Copy(dst, src, keystore.CopyOptions{Overwrite: f.overwrite, Merge: f.merge})
	if perr := printCopyReport(w, f.output, from, to, report); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if n := report.Total().Conflicts; n > 0 {
		return fmt.Errorf("%d records were left as they are at %s (see above: --merge copies those absent there, --overwrite replaces those that differ)", n, to.name)
	}
	return nil
}

// storeCopyConfig reads the settings `store copy` uses (store.etcd.*):
// defaults, then the config file, then SDPROXY_* variables.
func storeCopyConfig(path string, getenv func(string) string) (config.Config, error) {
	cfg := config.Default()
	if path == "" {
		path = getenv(config.EnvConfig)
	}
	if path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.ApplyEnv(getenv)
}

// copyMasterKey reads the master key from SDPROXY_MASTER_KEY or a key
// file, else from master.key in a bbolt side's data directory, as serve
// would; it never generates one.
func copyMasterKey(cfg config.Config, getenv func(string) string, specs ...storeSpec) ([]byte, error) {
	if getenv(config.EnvMasterKey) != "" || getenv(config.EnvMasterKeyFile) != "" || cfg.MasterKeyFile != "" {
		k, _, err := loadMasterKeyNoCreate(cfg, getenv)
		return k, err
	}
	for _, sp := range specs {
		if sp.backend == config.BackendBbolt {
			k, err := readMasterKey(masterKeyPath(sp.dir), false) // a tool: the mode is checked, not the owner
			if !errors.Is(err, fs.ErrNotExist) {
				return k, err
			}
		}
	}
	return nil, fmt.Errorf("store copy needs the stores' master key: set %s or %s", config.EnvMasterKey, config.EnvMasterKeyFile)
}

// openCopyStore opens one side of a copy. A source bbolt directory must
// hold a store; one that a running serve holds is refused at once.
func openCopyStore(cfg config.Config, getenv func(string) string, master []byte, sp storeSpec, source bool) (*keystore.Store, error) {
	opts := keystore.Options{MasterKey: master, LockTimeout: 500 * time.Millisecond}
	var s *keystore.Store
	var err error
	if sp.backend == config.BackendBbolt {
		if _, serr := os.Stat(filepath.Join(sp.dir, keystore.FileName)); source && serr != nil {
			return nil, fmt.Errorf("%s holds no store (no %s): %w", sp.name, keystore.FileName, serr)
		}
		s, err = keystore.Open(sp.dir, opts)
	} else {
		s, err = openCopyEtcd(cfg, getenv, opts, sp)
	}
	switch {
	case errors.Is(err, keystore.ErrLocked):
		return nil, fmt.Errorf("%s is in use by another process (a running sdproxy serve?): stop it before copying", sp.name)
	case errors.Is(err, keystore.ErrWrongMasterKey):
		return nil, fmt.Errorf("the master key does not match %s: refusing to copy", sp.name)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", sp.name, err)
	}
	return s, nil
}

func openCopyEtcd(cfg config.Config, getenv func(string) string, opts keystore.Options, sp storeSpec) (*keystore.Store, error) {
	e := cfg.Store.Etcd
	if len(sp.endpoints) > 0 {
		e.Endpoints = config.CommaList(strings.Join(sp.endpoints, ","))
	}
	if sp.prefix != "" {
		e.Prefix = sp.prefix
	}
	if len(e.Endpoints.Items()) == 0 {
		return nil, fmt.Errorf("no etcd endpoints: name them (etcd:http://host:2379,…) or set %s", config.EnvEtcdEndpoints)
	}
	if !strings.HasPrefix(e.Prefix, "/") || !strings.HasSuffix(e.Prefix, "/") {
		return nil, fmt.Errorf("the etcd prefix must start and end with /, got %q", e.Prefix)
	}
	eo, err := etcdOptions(e, getenv)
	if err != nil {
		return nil, err
	}
	return keystore.OpenEtcd(eo, opts)
}

// copyReportJSON is the --output json form of a copy's report.
type copyReportJSON struct {
	From      string          `json:"from"`
	To        string          `json:"to"`
	Copied    int             `json:"copied"`
	Unchanged int             `json:"unchanged"`
	Kinds     []copyCountJSON `json:"kinds"`
	Conflicts []copyConflict  `json:"conflicts"`
}

type copyCountJSON struct {
	Kind      string `json:"kind"`
	Copied    int    `json:"copied"`
	Unchanged int    `json:"unchanged"`
	Conflicts int    `json:"conflicts"`
}

type copyConflict struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

func printCopyReport(w io.Writer, format string, from, to storeSpec, r keystore.CopyReport) error {
	total := r.Total()
	if format == "json" {
		out := copyReportJSON{From: from.name, To: to.name, Copied: total.Copied, Unchanged: total.Unchanged, Kinds: []copyCountJSON{}, Conflicts: []copyConflict{}}
		for _, k := range r.Kinds {
			out.Kinds = append(out.Kinds, copyCountJSON(k))
		}
		for _, c := range r.Conflicts {
			out.Conflicts = append(out.Conflicts, copyConflict(c))
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return printJSON(w, b)
	}
	t := newTable(w, "KIND", "COPIED", "UNCHANGED", "CONFLICTS")
	for _, k := range append(r.Kinds, total) {
		t.row(k.Kind, strconv.Itoa(k.Copied), strconv.Itoa(k.Unchanged), strconv.Itoa(k.Conflicts))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "conflict: %s %s: %s\n", c.Kind, escapeCell(c.Key), c.Reason)
	}
	_, err := fmt.Fprintf(w, "%s → %s: %d copied, %d unchanged, %d conflicts\n", escapeCell(from.name), escapeCell(to.name), total.Copied, total.Unchanged, total.Conflicts)
	return err
}
