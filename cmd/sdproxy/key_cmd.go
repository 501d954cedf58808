package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func newKeyCmd(cl *clientFlags) *cobra.Command {
	cmd, _, keysPath := projectScopedCmd(cl, "key", "Manage a project's API keys (create, list, revoke, rotate)", "/keys")
	cmd.AddCommand(
		keyCreateCmd(cl, keysPath),
		&cobra.Command{
			Use: "list", Short: "List the project's keys with status and last use", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return listKeys(cl, cmd.OutOrStdout(), keysPath()) },
		},
		&cobra.Command{
			Use: "revoke KEY_ID", Short: "Revoke a key: it stops working at once", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return revokeKey(cl, cmd.OutOrStdout(), keysPath()+"/"+args[0]+"/revoke")
			},
		},
		keyRotateCmd(cl, keysPath),
	)
	return cmd
}

func keyCreateCmd(cl *clientFlags, keysPath func() string) *cobra.Command {
	var (
		name           string
		perms, classes []string
		expiresAt      string
		expiresIn      time.Duration
		quiet          bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key; the key is printed once and can never be shown again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "permissions": perms, "classifications": classes}
			switch {
			case expiresAt != "" && expiresIn != 0:
				return fmt.Errorf("--expires-at and --expires-in exclude each other")
			case expiresAt != "":
				body["expires_at"] = expiresAt
			case expiresIn != 0:
				body["expires_at"] = time.Now().Add(expiresIn).UTC().Format(time.RFC3339)
			}
			return printNewKey(cl, cmd, keysPath(), body, quiet)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "a name to recognise the key by")
	f.StringSliceVar(&perms, "permissions", nil, "any of encrypt, decrypt and decrypt_masked (decrypted response fields shown masked) (default encrypt,decrypt)")
	f.StringSliceVar(&classes, "classifications", nil, "limit the key to these classification slugs")
	f.StringVar(&expiresAt, "expires-at", "", "expiry time, RFC 3339")
	f.DurationVar(&expiresIn, "expires-in", 0, "expiry as a duration from now, e.g. 720h")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the key")
	return cmd
}

func keyRotateCmd(cl *clientFlags, keysPath func() string) *cobra.Command {
	var grace time.Duration
	var quiet bool
	cmd := &cobra.Command{
		Use:   "rotate KEY_ID",
		Short: "Replace a key; the old one keeps working for the grace period",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"grace_period": grace.String()}
			return printNewKey(cl, cmd, keysPath()+"/"+args[0]+"/rotate", body, quiet)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace-period", 24*time.Hour, "how long the old key keeps working")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the new key")
	return cmd
}

// printNewKey creates (or rotates) a key and shows it once with the notice.
func printNewKey(cl *clientFlags, cmd *cobra.Command, path string, body any, quiet bool) error {
	c, err := cl.client()
	if err != nil {
		return err
	}
	raw, err := c.do("POST", path, body)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if cl.output == "json" {
		return printJSON(w, raw)
	}
	var k wire.Key
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	if quiet {
		_, err := fmt.Fprintln(w, k.Secret)
		return err
	}
	fmt.Fprintf(w, "Created API key %s%s for project %s (permissions: %s).\n\n    %s\n\n",
		escapeCell(k.ID), nameSuffix(k.Name), escapeCell(k.ProjectID), escapeCell(strings.Join(k.Permissions, ", ")), escapeCell(k.Secret))
	fmt.Fprintln(w, "This key is shown only once. Store it securely now (for example in a secret manager):")
	fmt.Fprintln(w, "it cannot be retrieved again. If you lose it, create a new key and revoke this one.")
	return nil
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", name)
}

func listKeys(cl *clientFlags, w io.Writer, path string) error {
	return printList(cl, w, path, []string{"KEY ID", "NAME", "STATUS", "PERMISSIONS", "CREATED", "LAST USED", "EXPIRES"},
		func(k wire.Key) []string {
			return []string{k.ID, orDash(k.Name), k.Status, strings.Join(k.Permissions, ","),
				fmtTime(&k.CreatedAt, "-"), fmtTime(k.LastUsedAt, "never"), fmtTime(k.ExpiresAt, "-")}
		})
}

func revokeKey(cl *clientFlags, w io.Writer, path string) error {
	c, err := cl.client()
	if err != nil {
		return err
	}
	raw, err := c.do("POST", path, nil)
	if err != nil {
		return err
	}
	if cl.output == "json" {
		return printJSON(w, raw)
	}
	var k wire.Key
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "Revoked API key %s at %s; it no longer authenticates.\n", escapeCell(k.ID), fmtTime(k.RevokedAt, "-"))
	return err
}
