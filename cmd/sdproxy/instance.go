package main

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sdproxy/sdproxy/keystore"
)

// instanceIDFile holds the instance's id in the data directory, so that a
// restart keeps it.
const instanceIDFile = "instance.id"

// loadInstanceID reads the instance's id from the data directory,
// generating it (inst_ and 16 random base32 letters) on first start.
func loadInstanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, instanceIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validInstanceID(id) {
			return "", fmt.Errorf("instance id file %s holds %q: want inst_ and letters or digits (delete the file to get a new id)", path, id)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("instance id file: %w", err)
	}
	raw := make([]byte, 10)
	rand.Read(raw)
	id := "inst_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	// O_EXCL, as for the secrets: never through a symlink planted here.
	if err := writeSecretFile(path, id); err != nil {
		return "", fmt.Errorf("instance id file: %w", err)
	}
	return id, nil
}

func validInstanceID(id string) bool {
	rest, ok := strings.CutPrefix(id, "inst_")
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// errStoppedStarting: an interrupt or SIGTERM came while serve was
// starting; it stops without serving, as it would have once serving.
var errStoppedStarting = errors.New("stopped while starting")

// join registers this instance among the store's instances (on etcd,
// under a lease) and sizes the data plane's rate limits by how many are
// live. When a previous run of this instance crashed, its registration
// stays until its lease runs out (the TTL, 10s by default): join waits
// for that, saying so, and an interrupt or SIGTERM ends the wait
// (errStoppedStarting), so that stopping a restart loop is not held up.
func (s *server) join() error {
	self := keystore.Instance{
		ID: s.instanceID, DataAddr: s.dataLn.Addr().String(), AdminURL: s.cfg.AdminURL(s.adminLn.Addr().String()),
		Version: version, Started: time.Now(),
	}
	stop := s.starting
	m, err := s.store.Join(self, keystore.MembershipOptions{TTL: s.memberTTL, OnChange: func(list []keystore.Instance) {
		s.data.SetInstances(len(list))
	}, Start: stop, OnWait: func(d time.Duration) {
		s.log.Warn("this instance's id is still registered, by a previous run that did not stop cleanly; waiting for that registration to expire",
			"instance_id", s.instanceID, "at_most", d.String())
	}})
	if errors.Is(err, keystore.ErrJoinCancelled) {
		return errStoppedStarting
	}
	if err != nil {
		return fmt.Errorf("registering instance %s: %w", s.instanceID, err)
	}
	if stop.Err() != nil { // the signal came as Join ended: it is not lost
		m.Close()
		return errStoppedStarting
	}
	s.members = m
	return nil
}
