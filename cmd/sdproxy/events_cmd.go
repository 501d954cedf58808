package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/events"
)

func newEventsCmd(cl *clientFlags, getenv func(string) string) *cobra.Command {
	var (
		project, key, typ, since string
		limit                    int
		follow                   bool
		interval                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show a project's event log (requests and admin changes), or verify the log",
		Long: `Show a project's events, oldest of the page first, like tail. --follow keeps
polling for new events. "sdproxy events verify" checks the log's HMAC chain.

On the etcd backend the list merges the logs of every live instance (the
INSTANCE column); instances that did not answer are named on stderr.
--follow follows the merged list too: it shows the events recorded on any
live instance since the first page, each once (an instance that did not
answer, or joined later, from the time the follow began). A poll shows at
most 1000 events; a bigger burst between two polls shows its newest 1000.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if project == "" {
				return errors.New("--project is required")
			}
			c, err := cl.client()
			if err != nil {
				return err
			}
			id, err := resolveProject(cl, project)
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"key_id": key, "type": typ, "since": since} {
				if v != "" {
					q.Set(k, v)
				}
			}
			path := "/admin/v1/projects/" + id
			if empty, err := showEvents(cmd.OutOrStdout(), cmd.ErrOrStderr(), c, cl.output, path+"/events", q, follow, interval); err != nil || !empty {
				return err
			}
			// The events of a deleted project stay listed, so an unknown
			// id lists nothing rather than failing: say which it is.
			if _, err := c.do("GET", path, nil); err != nil {
				if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Status == 404 {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: no project has the id %s now (a deleted project's events stay listed; it has none)\n", id)
					return nil
				}
				return err
			}
			return nil
		},
	}
	cl.register(cmd)
	f := cmd.Flags()
	f.StringVar(&project, "project", "", "project id, or name when no other project has it (required)")
	f.StringVar(&key, "key", "", "only events of this key id")
	f.StringVar(&typ, "type", "", `only this type ("request", "key.revoked", or a family such as "key.")`)
	f.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	f.IntVar(&limit, "limit", 50, "how many events to show first (1-1000)")
	f.BoolVarP(&follow, "follow", "f", false, "keep showing new events")
	f.DurationVar(&interval, "interval", time.Second, "how often --follow polls")
	cmd.AddCommand(newEventsVerifyCmd(cl, getenv))
	return cmd
}

// showEvents prints one page, oldest first, then with follow polls for
// newer events until interrupted: after the follow cursor of a merged
// list (etcd), else after the newest event id (one log). Without follow
// it reports whether the page was empty.
func showEvents(w, errw io.Writer, c *client, output, path string, q url.Values, follow bool, interval time.Duration) (empty bool, err error) {
	raw, err := c.do("GET", path+"?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	var pg wire.EventPage
	if err := json.Unmarshal(raw, &pg); err != nil {
		return false, err
	}
	empty = len(pg.Items) == 0 && !follow
	unreachable := strings.Join(pg.Unreachable, ", ")
	if unreachable != "" {
		fmt.Fprintf(errw, "note: instances that did not answer, whose events are missing: %s\n", unreachable)
	}
	if output == "json" && !follow {
		return empty, printJSON(w, raw)
	}
	after := printEvents(w, output, pg.Items, true)
	if pg.FollowCursor != nil {
		after = *pg.FollowCursor
	}
	for follow {
		time.Sleep(interval)
		if after != "" {
			q.Set("after", after)
		}
		q.Set("limit", "1000")
		raw, err := c.do("GET", path+"?"+q.Encode(), nil)
		if err != nil {
			return false, err
		}
		pg = wire.EventPage{}
		if err := json.Unmarshal(raw, &pg); err != nil {
			return false, err
		}
		if u := strings.Join(pg.Unreachable, ", "); u != unreachable { // said once, not every poll
			if u != "" {
				fmt.Fprintf(errw, "note: instances that did not answer, whose new events are not shown until they do: %s\n", u)
			}
			unreachable = u
		}
		id := printEvents(w, output, pg.Items, false)
		switch {
		case pg.FollowCursor != nil:
			after = *pg.FollowCursor
		case id != "":
			after = id
		}
	}
	return empty, nil
}

// printEvents prints items (newest first from the API) oldest first and
// returns the newest id.
func printEvents(w io.Writer, output string, items []wire.Event, header bool) string {
	if output == "json" {
		for i := len(items) - 1; i >= 0; i-- {
			b, _ := json.Marshal(items[i])
			fmt.Fprintln(w, string(b))
		}
	} else {
		// Fixed widths rather than a tabwriter, so that rows printed later
		// by --follow line up with the first page.
		const row = "%-24s  %-21s  %-15s  %-15s  %-44s  %-7s  %-14s  %-6s  %s\n"
		if header {
			fmt.Fprintf(w, row, "TIME", "INSTANCE", "TYPE", "KEY", "REQUEST", "MODE", "FIELDS", "STATUS", "LATENCY")
		}
		for i := len(items) - 1; i >= 0; i-- {
			e := items[i]
			key := "-"
			if e.KeyID != nil {
				key = *e.KeyID
			}
			req, status, latency := "-", "-", "-"
			if e.Type == events.TypeRequest {
				req = e.Method + " " + e.Path
				status = strconv.Itoa(e.Status)
				latency = strconv.FormatFloat(e.LatencyMS, 'f', 2, 64) + "ms"
			}
			fmt.Fprintf(w, row, e.Time.UTC().Format("2006-01-02 15:04:05.000Z"), escapeCell(orDash(e.InstanceID)), escapeCell(e.Type), escapeCell(key), escapeCell(req),
				escapeCell(orDash(e.Mode)), escapeCell(orDash(strings.Join(e.Fields, ","))), status, latency)
		}
	}
	if len(items) == 0 {
		return ""
	}
	return items[0].ID
}

func newEventsVerifyCmd(cl *clientFlags, getenv func(string) string) *cobra.Command {
	var v verifyFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the event log's HMAC chain and name the first broken entry",
		Long: `Check the event log's HMAC chain. On a stopped data directory it reads
<data-dir>/events.db directly (it needs the master key: SDPROXY_MASTER_KEY,
SDPROXY_MASTER_KEY_FILE, or <data-dir>/master.key); when sdproxy is running
and holds the file, it asks the running server through the admin API.
Exit status 1 when the chain is broken.

The chain alone cannot show that its newest entries were cut off by someone
who also restored an older head, or that the whole log was replaced by an
older copy. sdproxy writes a signed checkpoint (its newest sequence number
and chain MAC) to the events sink and the server log every minute and at
shutdown: keep them elsewhere, and pass the latest with --checkpoint (the
line itself) or --checkpoint-file (the last checkpoint line of a sink file
or log), or a sequence number you know was reached with --min-seq.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v.all {
				if v.minSeq != 0 || v.checkpoint != "" || v.checkpointFile != "" {
					return errors.New("--all verifies every instance's chain by itself: --min-seq and --checkpoint name one instance's evidence; use them without --all against that instance")
				}
				return verifyAll(cl, cmd.OutOrStdout())
			}
			o, line, err := v.options()
			if err != nil {
				return err
			}
			res, err := verifyOffline(cl, getenv, o)
			if errors.Is(err, events.ErrLocked) {
				res, err = verifyOnline(cl, o.MinSeq, line)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if cl.output == "json" {
				b, _ := json.Marshal(res)
				printJSON(w, b)
			} else if res.OK {
				fmt.Fprintf(w, "Event log intact: %d entries verified (evt_%d to evt_%d).\n", res.Checked, res.FirstSeq, res.LastSeq)
			}
			if res.OK && res.HeadUnsigned {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: the log's head is not signed yet (written by an older sdproxy); a cut tail shows only with --checkpoint or --min-seq until serve opens it once.")
			}
			if !res.OK {
				if res.Broken.ID == "" {
					return fmt.Errorf("event log broken: %s", res.Broken.Reason)
				}
				return fmt.Errorf("event log broken at %s: %s", res.Broken.ID, res.Broken.Reason)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&v.all, "all", false, "ask the running server to have every live instance verify its own chain (etcd backend), one line per instance")
	f.Uint64Var(&v.minSeq, "min-seq", 0, "fail unless the log reaches at least this sequence number")
	f.StringVar(&v.checkpoint, "checkpoint", "", "a checkpoint line as written to the events sink or a JSON server log (log.format json)")
	f.StringVar(&v.checkpointFile, "checkpoint-file", "", "use the last checkpoint line in this file (an events sink file or a JSON server log)")
	return cmd
}

// verifyFlags are the evidence verify checks the log against.
type verifyFlags struct {
	all            bool
	minSeq         uint64
	checkpoint     string
	checkpointFile string
}

// options returns the verification options and the checkpoint line they
// came from ("" for none).
func (v verifyFlags) options() (events.VerifyOptions, string, error) {
	o := events.VerifyOptions{MinSeq: v.minSeq}
	line := strings.TrimSpace(v.checkpoint)
	switch {
	case line != "" && v.checkpointFile != "":
		return o, "", errors.New("--checkpoint and --checkpoint-file exclude each other")
	case v.checkpointFile != "":
		var err error
		if line, err = lastCheckpointLine(v.checkpointFile); err != nil {
			return o, "", err
		}
	}
	if line == "" {
		return o, "", nil
	}
	cp, err := events.ParseCheckpoint([]byte(line))
	if err != nil {
		return o, "", errors.New("--checkpoint: not a checkpoint line as sdproxy writes them to the events sink or a JSON server log")
	}
	o.Checkpoint = &cp
	return o, line, nil
}

// lastCheckpointLine returns the last line of file that parses as a
// checkpoint. It reads the file backwards from its end, a block at a
// time: an events sink grows by a line per event (gigabytes a day on a
// busy proxy), and its last checkpoint is at most a minute of lines from
// the end. Lines longer than maxCheckpointLine are not looked at (a
// checkpoint line is some 300 bytes).
func lastCheckpointLine(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("--checkpoint-file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("--checkpoint-file: %w", err)
	}
	const block = 64 << 10
	buf := make([]byte, block)
	var line []byte // the end of a line whose start is in an earlier block
	long := false   // line was cut at maxCheckpointLine: skip it
	for end := fi.Size(); end > 0; {
		start := max(0, end-block)
		buf = buf[:end-start]
		if _, err := f.ReadAt(buf, start); err != nil {
			return "", fmt.Errorf("--checkpoint-file: %w", err)
		}
		for {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 && start > 0 {
				// The line goes on in the block before.
				if long = long || len(buf)+len(line) > maxCheckpointLine; long {
					line = line[:0]
				} else {
					// A copy: the next ReadAt overwrites buf.
					line = append(append(make([]byte, 0, len(buf)+len(line)), buf...), line...)
				}
				break
			}
			if !long {
				cand := append(buf[i+1:len(buf):len(buf)], line...)
				if c := bytes.TrimSpace(cand); bytes.Contains(c, []byte("checkpoint")) {
					if _, err := events.ParseCheckpoint(c); err == nil {
						return string(c), nil
					}
				}
			}
			line, long = line[:0], false
			if i < 0 {
				break
			}
			buf = buf[:i]
		}
		end = start
	}
	return "", fmt.Errorf("--checkpoint-file: no checkpoint line in %s", file)
}

// maxCheckpointLine is the longest line lastCheckpointLine looks at.
const maxCheckpointLine = 16 << 10

// verifyOffline opens the stopped data directory's event log read-only.
func verifyOffline(cl *clientFlags, getenv func(string) string, o events.VerifyOptions) (wire.VerifyResult, error) {
	cfg := config.Default()
	cfg.DataDir = firstNonEmpty(cl.dataDir, getenv(config.EnvDataDir), cfg.DataDir)
	if _, err := os.Stat(cfg.DataDir + "/" + events.FileName); err != nil {
		return wire.VerifyResult{}, fmt.Errorf("no event log in %s: %w", cfg.DataDir, err)
	}
	master, _, err := loadMasterKeyNoCreate(cfg, getenv)
	if err != nil {
		return wire.VerifyResult{}, err
	}
	l, err := events.Open(cfg.DataDir, events.Options{MasterKey: master, ReadOnly: true, LockTimeout: 500 * time.Millisecond})
	if err != nil {
		return wire.VerifyResult{}, err
	}
	defer l.Close()
	res, err := l.VerifyWith(o)
	return admin.VerifyView(res), err
}

// verifyOnline asks the running server.
func verifyOnline(cl *clientFlags, minSeq uint64, checkpoint string) (wire.VerifyResult, error) {
	var res wire.VerifyResult
	c, err := cl.client()
	if err != nil {
		return res, err
	}
	q := url.Values{}
	if minSeq > 0 {
		q.Set("min_seq", strconv.FormatUint(minSeq, 10))
	}
	if checkpoint != "" {
		q.Set("checkpoint", checkpoint)
	}
	path := "/admin/v1/events/verify"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, err := c.do("GET", path, nil)
	if se := (*statusError)(nil); errors.As(err, &se) && se.Status == 409 {
		// 409 is the result of a broken chain, naming its first entry.
		if json.Unmarshal(se.Body, &res) != nil || res.OK || res.Broken == nil {
			return res, fmt.Errorf("event log broken (the server answered HTTP 409 without naming the entry)")
		}
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return res, err
	}
	if !res.OK && res.Broken == nil {
		return res, errors.New("event log broken (the server named no entry)")
	}
	return res, nil
}

// verifyAll asks the running server for every live instance's
// verification and prints one line per instance; it fails unless every
// chain is intact and every instance answered.
func verifyAll(cl *clientFlags, w io.Writer) error {
	c, err := cl.client()
	if err != nil {
		return err
	}
	raw, err := c.do("GET", "/admin/v1/events/verify?all=1", nil)
	if err != nil {
		return err
	}
	var all wire.VerifyAll
	if err := json.Unmarshal(raw, &all); err != nil {
		return err
	}
	if cl.output == "json" {
		printJSON(w, raw)
	} else {
		for _, r := range all.Instances {
			name := orDash(r.InstanceID)
			switch {
			case r.Result == nil:
				fmt.Fprintf(w, "%s: not verified: %s\n", name, escapeCell(r.Error))
			case r.Result.OK:
				fmt.Fprintf(w, "%s: intact, %d entries verified (evt_%d to evt_%d)\n", name, r.Result.Checked, r.Result.FirstSeq, r.Result.LastSeq)
			case r.Result.Broken != nil && r.Result.Broken.ID != "":
				fmt.Fprintf(w, "%s: broken at %s: %s\n", name, escapeCell(r.Result.Broken.ID), escapeCell(r.Result.Broken.Reason))
			default:
				fmt.Fprintf(w, "%s: broken\n", name)
			}
		}
	}
	if !all.OK {
		return errors.New("event logs not all verified intact (see above)")
	}
	return nil
}
