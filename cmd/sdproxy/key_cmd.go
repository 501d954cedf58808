package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

func newKeyCmd(cl *clientFlags) *cobra.Command {
	cmd, _, keysPath := projectScopedCmd(cl, "key", "Manage a project's API keys (create, list, update, revoke, rotate)", "/keys")
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
		keyUpdateCmd(cl, keysPath),
	)
	return cmd
}

func keyCreateCmd(cl *clientFlags, keysPath func() string) *cobra.Command {
	var (
		name           string
		perms, classes []string
		expiresAt      string
		expiresIn      time.Duration
		budget         string
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
			if budget != "" {
				b, err := budgetBody(budget)
				if err != nil {
					return err
				}
				body["decrypt_budget"] = b
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
	f.StringVar(&budget, "decrypt-budget", "", "cap the values the key may decrypt per window, as VALUES/PER, e.g. 10000/24h (default no cap)")
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
// sendKey sends body to a key's path and decodes the key answered; with
// --output json it prints the answer as it is and reports done.
func sendKey(cl *clientFlags, cmd *cobra.Command, method, path string, body any) (k wire.Key, done bool, err error) {
	c, err := cl.client()
	if err != nil {
		return k, false, err
	}
	raw, err := c.do(method, path, body)
	if err != nil {
		return k, false, err
	}
	if cl.output == "json" {
		return k, true, printJSON(cmd.OutOrStdout(), raw)
	}
	return k, false, json.Unmarshal(raw, &k)
}

func printNewKey(cl *clientFlags, cmd *cobra.Command, path string, body any, quiet bool) error {
	k, done, err := sendKey(cl, cmd, "POST", path, body)
	if done || err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if quiet {
		_, err := fmt.Fprintln(w, k.Secret)
		return err
	}
	fmt.Fprintf(w, "Created API key %s%s for project %s (permissions: %s).\n\n    %s\n\n",
		escapeCell(k.ID), nameSuffix(k.Name), escapeCell(k.ProjectID), escapeCell(strings.Join(k.Permissions, ", ")), escapeCell(k.Secret))
	if k.DecryptBudget != nil {
		fmt.Fprintf(w, "Decrypt budget: %s values per %s.\n", escapeCell(string(k.DecryptBudget.Values)), escapeCell(k.DecryptBudget.Per))
	}
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
	return printList(cl, w, path, []string{"KEY ID", "NAME", "STATUS", "PERMISSIONS", "BUDGET", "CREATED", "LAST USED", "EXPIRES"},
		func(k wire.Key) []string {
			return []string{k.ID, orDash(k.Name), k.Status, strings.Join(k.Permissions, ","), fmtBudget(k),
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

func keyUpdateCmd(cl *clientFlags, keysPath func() string) *cobra.Command {
	var budget string
	var none bool
	cmd := &cobra.Command{
		Use:   "update KEY_ID",
		Short: "Change a key's decrypt budget (--decrypt-budget 10000/24h) or remove it (--no-decrypt-budget)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b any
			switch {
			case budget != "" && none:
				return fmt.Errorf("--decrypt-budget and --no-decrypt-budget exclude each other")
			case budget != "":
				var err error
				if b, err = budgetBody(budget); err != nil {
					return err
				}
			case !none:
				return fmt.Errorf("nothing to change: give --decrypt-budget VALUES/PER or --no-decrypt-budget")
			}
			k, done, err := sendKey(cl, cmd, "PATCH", keysPath()+"/"+args[0], map[string]any{"decrypt_budget": b})
			if done || err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "API key %s: decrypt budget %s.\n", escapeCell(k.ID), fmtBudget(k))
			return err
		},
	}
	cmd.Flags().StringVar(&budget, "decrypt-budget", "", "the values the key may decrypt per window, as VALUES/PER, e.g. 10000/24h")
	cmd.Flags().BoolVar(&none, "no-decrypt-budget", false, "remove the key's decrypt budget")
	return cmd
}

// budgetBody turns "10000/24h" into the admin API's decrypt_budget.
func budgetBody(s string) (wire.Budget, error) {
	b, err := keystore.ParseBudget(s)
	if err != nil {
		return wire.Budget{}, fmt.Errorf("--decrypt-budget: %w", err)
	}
	return wire.Budget{Values: json.Number(strconv.FormatUint(b.Values, 10)), Per: keystore.FormatPer(b.Per)}, nil
}

// fmtBudget shows a key's decrypt budget: "9812/10000 per 24h", or "-".
func fmtBudget(k wire.Key) string {
	if k.DecryptBudget == nil {
		return "-"
	}
	left := "?"
	if k.DecryptBudgetRemaining != nil {
		left = strconv.FormatUint(*k.DecryptBudgetRemaining, 10)
	}
	return escapeCell(left + "/" + string(k.DecryptBudget.Values) + " per " + k.DecryptBudget.Per)
}
