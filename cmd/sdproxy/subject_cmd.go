package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// newSubjectCmd is "sdproxy subject show|erase --project P SUBJECT":
// crypto-shredding of one data subject (docs/erasure.md).
func newSubjectCmd(cl *clientFlags) *cobra.Command {
	cmd, _, path := projectScopedCmd(cl, "subject", "Show or erase a data subject (crypto-shredding: its tokens become unreadable everywhere)", "/subjects/")
	run := func(method string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := cl.client()
			if err != nil {
				return err
			}
			raw, err := c.do(method, path()+subjectSegment(args[0]), nil)
			if err != nil {
				return err
			}
			if cl.output == "json" {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			var s wire.Subject
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			return printSubject(cmd.OutOrStdout(), s)
		}
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "show SUBJECT", Short: "Say whether values were sealed for a subject, whether it was erased, and how many", Args: cobra.ExactArgs(1),
			RunE: run("GET"),
		},
		&cobra.Command{
			Use:   "erase SUBJECT",
			Short: "Destroy a subject's secret: every token sealed for it fails with subject_erased from now on; this cannot be undone",
			Args:  cobra.ExactArgs(1),
			RunE:  run("DELETE"),
		},
	)
	return cmd
}

// printSubject writes a subject as text; never the id.
func printSubject(w io.Writer, s wire.Subject) error {
	if s.Erased != nil {
		what := "Subject erased"
		if !*s.Erased {
			what = "Subject was already erased"
		}
		n := strconv.FormatUint(s.SealedValues, 10) + " values"
		if s.SealedValues == 1 {
			n = "1 value"
		}
		_, err := fmt.Fprintf(w, "%s (ref %s, %s sealed): its tokens can no longer be decrypted.\n", what, s.Ref, n)
		return err
	}
	_, err := fmt.Fprintf(w, "REF\t%s\nSTATE\t%s\nSEALED\t%d\nCREATED\t%s\nERASED\t%s\n",
		s.Ref, s.State, s.SealedValues, fmtTime(s.CreatedAt, "-"), fmtTime(s.ErasedAt, "-"))
	return err
}

// subjectSegment is subject as one path segment: percent-encoded, its
// dots too, so that no client or server on the way resolves an id such
// as ".." as a dot segment (the admin API refuses those as sent).
func subjectSegment(subject string) string {
	return strings.ReplaceAll(url.PathEscape(subject), ".", "%2E")
}
