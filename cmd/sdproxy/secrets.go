package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/keystore"
)

const (
	masterKeyFile  = "master.key"
	adminTokenFile = "admin.token"

	// minAdminTokenLen is the shortest SDPROXY_ADMIN_TOKEN serve accepts.
	minAdminTokenLen = 32
)

func masterKeyPath(dataDir string) string { return filepath.Join(dataDir, masterKeyFile) }

// AdminTokenPath is where serve keeps a generated admin token.
func adminTokenPath(dataDir string) string { return filepath.Join(dataDir, adminTokenFile) }

// loadMasterKey returns the master key from SDPROXY_MASTER_KEY, the
// configured key file, or <data-dir>/master.key (generated on first use),
// for serve: a key file another user owns is refused.
func loadMasterKey(cfg config.Config, getenv func(string) string) (key []byte, generated bool, err error) {
	return masterKey(cfg, getenv, true, true)
}

// masterKey is loadMasterKey; create: generate <data-dir>/master.key when
// no key is configured and it is missing; owner: refuse a key file that
// another user owns (serve's rule, since that user could change the key
// it runs with; a tool that only reads the key, run by root or an
// operator on the service user's files, checks the mode only).
func masterKey(cfg config.Config, getenv func(string) string, create, owner bool) (key []byte, generated bool, err error) {
	if v := getenv(config.EnvMasterKey); v != "" {
		k, err := decodeMasterKey([]byte(v))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", config.EnvMasterKey, err)
		}
		return k, false, nil
	}
	path := cfg.MasterKeyFile
	if v := getenv(config.EnvMasterKeyFile); v != "" {
		path = v
	}
	if path != "" {
		k, err := readMasterKey(path, owner)
		return k, false, err
	}
	path = masterKeyPath(cfg.DataDir)
	k, err := readMasterKey(path, owner)
	if !create || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, keystore.FileName)); err == nil {
		return nil, false, fmt.Errorf("no master key configured for the existing data directory %s: set %s or %s", cfg.DataDir, config.EnvMasterKey, config.EnvMasterKeyFile)
	}
	k = make([]byte, 32)
	rand.Read(k)
	if err := writeSecretFile(path, base64.StdEncoding.EncodeToString(k)); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// loadMasterKeyNoCreate is loadMasterKey for tools that read a data
// directory (events verify, store copy): it never generates a key, and
// checks a key file's mode but not its owner (root may run them on the
// files of the user serve runs as).
func loadMasterKeyNoCreate(cfg config.Config, getenv func(string) string) ([]byte, bool, error) {
	return masterKey(cfg, getenv, false, false)
}

// loadSharedMasterKey is loadMasterKey for the etcd backend, whose
// instances must all hold the same key: it reads <data-dir>/master.key
// when neither the variable nor a key file is set, and never generates a
// key.
func loadSharedMasterKey(cfg config.Config, getenv func(string) string) ([]byte, bool, error) {
	k, generated, err := masterKey(cfg, getenv, false, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("store.backend etcd: every instance needs the same master key, and none is generated: set %s or %s (%w)", config.EnvMasterKey, config.EnvMasterKeyFile, err)
	}
	return k, generated, err
}

func readMasterKey(path string, owner bool) ([]byte, error) {
	b, err := readSecret("master key file", path, owner)
	if err != nil {
		return nil, err
	}
	k, err := decodeMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// decodeMasterKey accepts standard or URL-safe base64, padded or not.
func decodeMasterKey(b []byte) ([]byte, error) {
	s := string(bytes.TrimSpace(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("malformed master key: decodes to %d bytes, want 32", len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("malformed master key: want base64 of 32 bytes (e.g. `openssl rand -base64 32`)")
}

// loadAdminToken returns the token from SDPROXY_ADMIN_TOKEN (at least
// minAdminTokenLen characters), from the configured token file
// (SDPROXY_ADMIN_TOKEN_FILE / admin_token_file, e.g. a docker secret), or
// from <data-dir>/admin.token, generating that file on first start. path
// is the file the token came from ("" for the environment).
func loadAdminToken(cfg config.Config, getenv func(string) string) (token, path string, err error) {
	// Surrounding spaces and newlines are not part of a token (a secret
	// made from a file keeps its newline); the admin API ignores them too.
	if v := strings.TrimSpace(getenv(config.EnvAdminToken)); v != "" {
		if n := utf8.RuneCountInString(v); n < minAdminTokenLen {
			return "", "", fmt.Errorf("%s must be at least %d characters (got %d); generate one with: openssl rand -base64 32", config.EnvAdminToken, minAdminTokenLen, n)
		}
		return v, "", nil
	}
	if path = configuredAdminTokenFile(cfg, getenv); path != "" {
		t, err := readLongAdminToken(path)
		return t, path, err
	}
	path = adminTokenPath(cfg.DataDir)
	t, err := readLongAdminToken(path)
	if err == nil {
		return t, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token = "sdpa_" + hex.EncodeToString(raw)
	return token, path, writeSecretFile(path, token)
}

// configuredAdminTokenFile is SDPROXY_ADMIN_TOKEN_FILE, else the config
// file's admin_token_file, else "".
func configuredAdminTokenFile(cfg config.Config, getenv func(string) string) string {
	return firstNonEmpty(getenv(config.EnvAdminTokenFile), cfg.AdminTokenFile)
}

// readLongAdminToken is readAdminTokenFile refusing a token shorter than
// minAdminTokenLen, whichever file it comes from (one written by hand in
// the data directory as well).
func readLongAdminToken(path string) (string, error) {
	t, err := readAdminTokenFile(path, true)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(t); n < minAdminTokenLen {
		return "", fmt.Errorf("admin token file %s holds %d characters, want at least %d; generate one with: openssl rand -base64 32", path, n, minAdminTokenLen)
	}
	return t, nil
}

// readAdminTokenFile reads a token file (refusing one that group or others
// may read, and with owner one that another user owns) and returns its
// trimmed content, refusing an empty one.
func readAdminTokenFile(path string, owner bool) (string, error) {
	b, err := readSecret("admin token file", path, owner)
	if err != nil {
		return "", err
	}
	t := string(bytes.TrimSpace(b))
	if t == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return t, nil
}

// readSecretFile reads the secret file path, what it holds named by what
// ("master key file"). It refuses a file that group or others may access
// (any of the mode bits 0o077), since anyone who can read the file holds
// the secret, and one that another user owns, since its owner may change
// the secret (docs/operations.md, "Secret files"). The mode and owner are
// checked on the opened file, so the check and the read see the same
// file. Errors wrap fs.ErrNotExist when path is missing.
func readSecretFile(what, path string) ([]byte, error) { return readSecret(what, path, true) }

// readSecret is readSecretFile; owner false leaves out the owner check, for
// the CLI, a client that only sends what it reads (root may run it with
// the file of the user serve runs as).
func readSecret(what, path string, owner bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s %s is a directory", what, path)
	}
	if err := checkSecretMode(what, path, fi.Mode()); err != nil {
		return nil, err
	}
	if owner {
		if err := checkSecretOwner(what, path, fi); err != nil {
			return nil, err
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// checkSecretMode refuses mode when group or others have any access. On
// Windows, where Go reports no such permission bits, it accepts any mode.
func checkSecretMode(what, path string, mode fs.FileMode) error {
	perm := mode.Perm()
	if perm&0o077 == 0 || runtime.GOOS == "windows" {
		return nil
	}
	access := "readable by"
	if perm&0o044 == 0 {
		access = "open to"
	}
	return fmt.Errorf("%s %s is %s group or others (mode %04o): run chmod 600 %s", what, path, access, perm, path)
}

// writeSecretFile creates path with mode 0600; it never overwrites (nor
// follows a symlink). The file and its directory entry are synced before
// it returns: the master key must be on disk before the store that its
// data keys are wrapped for is, and a file left half written is removed.
func writeSecretFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(content + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // best effort: not every platform syncs a directory
		d.Close()
	}
	return nil
}
