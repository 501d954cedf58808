package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin/wire"
)

const classificationLong = `Classifications are a project's named kinds of data, such as pii or card.
A token carries the slug it was sealed with (X-Qanapi-Classification, or a
route's request classification); a key may be limited to some slugs; and a
key with decrypt_masked (without decrypt) sees each value through its
classification's mask: --mask-show-first characters at the start and
--mask-show-last at the end shown, every other character replaced by
--mask-char (default: last 4 shown, "*").

Keys and routes may name only slugs the project defines, and a slug they
name cannot be deleted. "none", the classification of untagged tokens, is
built in: it is listed, and cannot be created, changed or deleted.`

func newClassificationCmd(cl *clientFlags) *cobra.Command {
	cmd, project, classesPath := projectScopedCmd(cl, "classification",
		"Manage a project's classifications and their masks (create, list, show, update, delete)", "/classifications")
	cmd.Long = classificationLong
	one := func(slug string) string { return classesPath() + "/" + url.PathEscape(slug) }
	var showSlug, deleteSlug string
	show := &cobra.Command{
		Use: "show SLUG", Short: "Show one classification", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			slug, err := slugArg(args, showSlug)
			if err != nil {
				return err
			}
			return callClassification(cl, cmd.OutOrStdout(), "GET", one(slug), nil)
		},
	}
	show.Flags().StringVar(&showSlug, "slug", "", "the classification's slug (or give it as the argument)")
	del := &cobra.Command{
		Use: "delete SLUG", Short: "Delete a classification that no active key or route names", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			slug, err := slugArg(args, deleteSlug)
			if err != nil {
				return err
			}
			c, err := cl.client()
			if err != nil {
				return err
			}
			if _, err := c.do("DELETE", one(slug), nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Deleted classification %s of project %s.\n", escapeCell(slug), escapeCell(*project))
			return err
		},
	}
	del.Flags().StringVar(&deleteSlug, "slug", "", "the classification's slug (or give it as the argument)")
	cmd.AddCommand(
		classificationWriteCmd(cl, "create", classesPath, one),
		&cobra.Command{
			Use: "list", Short: "List the project's classifications by slug, none included", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return listClassifications(cl, cmd.OutOrStdout(), classesPath())
			},
		},
		show,
		classificationWriteCmd(cl, "update", classesPath, one),
		del,
	)
	return cmd
}

// slugArg is the slug given as the argument or with --slug (one of them).
func slugArg(args []string, flag string) (string, error) {
	switch {
	case len(args) == 1 && flag != "" && args[0] != flag:
		return "", fmt.Errorf("the argument %q and --slug %q differ: give the slug once", args[0], flag)
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", fmt.Errorf("give the classification's slug, as the argument or with --slug")
}

// classFlags are the flags that describe a classification.
type classFlags struct {
	slug, name, description, char string
	first, last                   int
}

// classificationWriteCmd is "classification create" or "classification
// update SLUG".
func classificationWriteCmd(cl *clientFlags, verb string, classesPath func() string, one func(string) string) *cobra.Command {
	var cf classFlags
	cmd := &cobra.Command{Use: verb, Short: "Create a classification", Args: cobra.NoArgs}
	if verb == "update" {
		cmd.Use, cmd.Args = "update SLUG", cobra.MaximumNArgs(1)
		cmd.Short = "Change a classification's name, description or mask (only the flags given)"
		cmd.Long = `Change classification SLUG: the flags given replace those settings; the
others keep their current values. The slug itself cannot change. A mask
change applies to the next request that reveals a value of the slug.`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if verb == "create" {
			if cf.slug == "" {
				return fmt.Errorf("--slug is required: the new classification's slug, such as pii")
			}
			return callClassification(cl, cmd.OutOrStdout(), "POST", classesPath(), cf.input(cmd, wire.ClassificationInput{Slug: cf.slug}))
		}
		slug, err := slugArg(args, cf.slug)
		if err != nil {
			return err
		}
		cur, err := getClassification(cl, one(slug))
		if err != nil {
			return err
		}
		return callClassification(cl, cmd.OutOrStdout(), "PUT", one(slug), cf.input(cmd, cur))
	}
	f := cmd.Flags()
	slugHelp := "the classification's slug: a-z, 0-9, - and _, such as pii (required)"
	if verb == "update" {
		slugHelp = "the classification's slug (or give it as the argument)"
	}
	f.StringVar(&cf.slug, "slug", "", slugHelp)
	f.StringVar(&cf.name, "name", "", "a name for people, such as \"Personal data\" (default the slug)")
	f.StringVar(&cf.description, "description", "", "what the classification covers")
	f.IntVar(&cf.first, "mask-show-first", 0, "masked values show this many leading characters (default 0)")
	f.IntVar(&cf.last, "mask-show-last", 4, "masked values show this many trailing characters")
	f.StringVar(&cf.char, "mask-char", "*", "the one character that replaces each hidden character")
	return cmd
}

// input returns base with the flags given on cmd applied: a create's
// base is just the slug, an update's the classification as it is.
func (cf *classFlags) input(cmd *cobra.Command, base wire.ClassificationInput) wire.ClassificationInput {
	f := cmd.Flags()
	if f.Changed("name") {
		base.Name = cf.name
	}
	if f.Changed("description") {
		base.Description = cf.description
	}
	if f.Changed("mask-show-first") || f.Changed("mask-show-last") || f.Changed("mask-char") {
		if base.Mask == nil {
			base.Mask = &wire.MaskInput{}
		}
		if f.Changed("mask-show-first") {
			base.Mask.ShowFirst = &cf.first
		}
		if f.Changed("mask-show-last") {
			base.Mask.ShowLast = &cf.last
		}
		if f.Changed("mask-char") {
			base.Mask.Char = &cf.char
		}
	}
	return base
}

// getClassification reads a classification as the input that would
// replace it with itself.
func getClassification(cl *clientFlags, path string) (wire.ClassificationInput, error) {
	c, err := cl.client()
	if err != nil {
		return wire.ClassificationInput{}, err
	}
	raw, err := c.do("GET", path, nil)
	if err != nil {
		return wire.ClassificationInput{}, err
	}
	var v wire.Classification
	if err := json.Unmarshal(raw, &v); err != nil {
		return wire.ClassificationInput{}, err
	}
	m := v.Mask
	return wire.ClassificationInput{Slug: v.Slug, Name: v.Name, Description: v.Description,
		Mask: &wire.MaskInput{ShowFirst: &m.ShowFirst, ShowLast: &m.ShowLast, Char: &m.Char}}, nil
}

// callClassification sends one call and shows the classification it answers.
func callClassification(cl *clientFlags, w io.Writer, method, path string, body any) error {
	return callAndShow(cl, w, method, path, body, func(v wire.Classification, t *table) {
		t.row("slug", v.Slug)
		t.row("name", v.Name)
		t.row("description", orDash(v.Description))
		t.row("mask", maskCell(v.Mask))
		t.row("builtin", strconv.FormatBool(v.Builtin))
		t.row("created_at", fmtTime(&v.CreatedAt, "-"))
		t.row("updated_at", fmtTime(&v.UpdatedAt, "-"))
	})
}

func listClassifications(cl *clientFlags, w io.Writer, path string) error {
	return printList(cl, w, path, []string{"SLUG", "NAME", "MASK", "BUILTIN", "DESCRIPTION"},
		func(c wire.Classification) []string {
			return []string{c.Slug, c.Name, maskCell(c.Mask), strconv.FormatBool(c.Builtin), orDash(truncate(c.Description, 60))}
		})
}

// maskCell sums up a mask: "first 0, last 4, char *".
func maskCell(m wire.Mask) string {
	return fmt.Sprintf("first %d, last %d, char %s", m.ShowFirst, m.ShowLast, m.Char)
}

// truncate shortens s to n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
