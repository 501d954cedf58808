//go:build unix

package main

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkSecretOwner refuses a secret file that another user owns: its owner
// could change the secret (docs/operations.md, "Secret files").
func checkSecretOwner(what, path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("%s %s is owned by uid %d, not by the user sdproxy runs as (uid %d): run chown %d %s", what, path, st.Uid, euid, euid, path)
	}
	return nil
}
