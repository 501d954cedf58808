package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// newSecretsInitCmd creates a master key and an admin token in a
// directory, for deployments whose instances share them (several
// instances on etcd, a compose stack): it never overwrites and never
// prints them.
func newSecretsInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "secrets-init DIR",
		Short: "Create master.key and admin.token in DIR (mode 0600) unless they exist",
		Long: `Create, in DIR, the two secrets that serve reads from files:
  master.key    32 random bytes, base64 (for SDPROXY_MASTER_KEY_FILE)
  admin.token   a random admin token (for SDPROXY_ADMIN_TOKEN_FILE)
each with mode 0600, owned by the user running the command. A file that
already exists is kept as it is (so running it again changes nothing), and
checked: one readable by group or others is refused. Their content is
never printed. The docker-compose stack runs it once in a volume that
every instance mounts read-only; elsewhere, prefer your platform's secret
store and give serve the files it mounts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			raw := make([]byte, 32)
			rand.Read(raw)
			key := base64.StdEncoding.EncodeToString(raw)
			rand.Read(raw)
			token := "sdpa_" + hex.EncodeToString(raw)
			for _, s := range []struct{ name, content, what string }{
				{masterKeyFile, key, "master key file"},
				{adminTokenFile, token, "admin token file"},
			} {
				path := filepath.Join(dir, s.name)
				_, err := readSecret(s.what, path, false) // may be prepared for another user
				switch {
				case err == nil:
					fmt.Fprintf(cmd.OutOrStdout(), "kept %s\n", path)
					continue
				case !errors.Is(err, fs.ErrNotExist):
					return err
				}
				if err := writeSecretFile(path, s.content); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created %s\n", path)
			}
			return nil
		},
	}
}
