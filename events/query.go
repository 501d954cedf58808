package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Filter selects events of one project, newest first.
type Filter struct {
	ProjectID string
	KeyID     string    // "" means any
	Type      string    // "" means any; a prefix ending in "." ("key.") matches a family
	Since     time.Time // zero means no lower bound (inclusive)
	Until     time.Time // zero means no upper bound (exclusive)
	Limit     int       // zero means 100
	Cursor    string    // from a previous page: continue with older events
	After     string    // an event id: only newer events (for --follow)
}

// maxScan bounds how many index records one query reads while
// filtering; a query that reaches it returns the events found so far and
// a cursor to go on from where it stopped.
const maxScan = 2_000_000

// Query returns one page of events and the cursor of the next (older) page,
// or "" when there is none. It walks the index values of the smallest
// family that holds every match (the key's events for a KeyID; the
// project's events of other types than request for such a Type; else the
// project's events) from the newest block back, filters on their
// records (seq, type, time) and reads only the events it returns.
func (l *Log) Query(f Filter) ([]Event, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	start, after := uint64(math.MaxUint64), uint64(0)
	var err error
	if f.Cursor != "" {
		if start, err = parseSeq(strings.TrimPrefix(f.Cursor, "c")); err != nil {
			return nil, "", ErrBadCursor
		}
	}
	if f.After != "" {
		if after, err = parseSeq(strings.TrimPrefix(f.After, "evt_")); err != nil {
			return nil, "", ErrBadCursor
		}
	}
	q := &query{l: l, f: f, start: start, after: after, since: minTime, until: math.MaxInt64}
	if !f.Since.IsZero() {
		q.since = f.Since.UnixNano()
	}
	if !f.Until.IsZero() {
		q.until = f.Until.UnixNano()
	}
	for i, t := range Types {
		q.types[i+1] = f.Type == "" || t == f.Type || (strings.HasSuffix(f.Type, ".") && strings.HasPrefix(t, f.Type))
	}
	err = l.db.View(q.run)
	return q.out, q.next, err
}

// query is one Query.
type query struct {
	l            *Log
	f            Filter
	start, after uint64 // seqs: only before start, after after
	since, until int64  // times: since ≤ t < until
	types        [256]bool
	first        uint64 // the chain's start: entries before it are pruned
	recs         []idxRecord
	block        []byte // the block of lines, decompressed
	lines        []blockLine
	rec          decoded // a request record read back
	json         []byte  // and its JSON
	out          []Event
	next         string
}

type blockLine struct {
	seq  uint64
	line []byte
}

func (q *query) run(tx *bolt.Tx) error {
	bucket, family := bucketProjectIdx, append([]byte(q.f.ProjectID), 0)
	switch {
	case q.f.KeyID != "":
		bucket, family = bucketKeyIdx, append(append(family, q.f.KeyID...), 0)
	case q.f.Type != "" && q.f.Type != TypeRequest:
		bucket = bucketAdminIdx
	}
	idx, blocks := tx.Bucket(bucket), tx.Bucket(bucketBlocks)
	if idx == nil || blocks == nil {
		return nil
	}
	if a, _, ok := q.l.chainStart(tx); ok {
		q.first = a.Seq
	}
	c := idx.Cursor()
	k, v := c.Seek(append(family[:len(family):len(family)], seqKey(q.start)...))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	scanned := 0
	for ; k != nil && bytes.HasPrefix(k, family); k, v = c.Prev() {
		if len(k) != len(family)+8 {
			// Not family || block id: no writer put it there, so it
			// indexes nothing, and stopping at it would hide every
			// older event of the family (Verify does not look at it).
			continue
		}
		if len(v) < idxHeader {
			return fmt.Errorf("events: index value %q does not read", k)
		}
		if int64(binary.BigEndian.Uint64(v[16:])) < q.since {
			return nil // upTo: no earlier event of the family is late enough
		}
		if int64(binary.BigEndian.Uint64(v[0:])) >= q.until {
			continue // every event of the value is too new
		}
		id := binary.BigEndian.Uint64(k[len(family):])
		var ok bool
		if q.recs, ok = decodeIndex(q.recs[:0], id, v); !ok {
			return fmt.Errorf("events: index value %q does not read", k)
		}
		q.lines = q.lines[:0]
		for i := len(q.recs) - 1; i >= 0; i-- {
			r := q.recs[i]
			switch {
			case r.seq >= q.start:
				continue
			case r.seq <= q.after || r.seq < q.first:
				return nil
			}
			if scanned++; scanned > maxScan {
				q.next = "c" + strconv.FormatUint(r.seq+1, 10)
				return nil
			}
			if !q.types[r.code] || r.time < q.since || r.time >= q.until {
				continue
			}
			e, found, err := q.event(blocks, id, r.seq)
			if err != nil {
				return err
			}
			if !found || !q.f.matches(e) {
				continue
			}
			if len(q.out) == q.f.Limit {
				q.next = "c" + strconv.FormatUint(lastSeq(q.out), 10)
				return nil
			}
			q.out = append(q.out, e)
		}
	}
	return nil
}

// event reads entry seq of block id; found is false when retention
// removed it from the block.
func (q *query) event(blocks *bolt.Bucket, id, seq uint64) (Event, bool, error) {
	var e Event
	if len(q.lines) == 0 {
		q.block = readBlockInto(q.block, blocks, seqKey(id))
		forEachLine(q.block, func(s uint64, line []byte) bool {
			q.lines = append(q.lines, blockLine{s, line})
			return true
		})
	}
	i := sort.Search(len(q.lines), func(i int) bool { return q.lines[i].seq >= seq })
	if i == len(q.lines) || q.lines[i].seq != seq {
		return e, false, nil
	}
	line := q.lines[i].line
	if !q.l.lineMACOK(seq, line) {
		return e, false, fmt.Errorf("%w: evt_%d", ErrChanged, seq)
	}
	if isBinEntry(line) {
		_, _, _, event, ok := parseBinEntry(line)
		if !ok {
			return e, false, fmt.Errorf("events: entry %d does not read", seq)
		}
		if isRecord(event) {
			if err := decodeRecord(event, &q.rec); err != nil {
				return e, false, fmt.Errorf("events: entry %d: %w", seq, err)
			}
			q.json = appendRequest(q.json[:0], "evt_"+strconv.FormatUint(seq, 10), q.rec.inst, &q.rec.Request)
			event = q.json
		}
		if err := json.Unmarshal(event, &e); err != nil {
			return e, false, fmt.Errorf("events: entry %d: %w", seq, err)
		}
		return e, true, nil
	}
	const member = `,"event":`
	j := bytes.Index(line, []byte(member))
	if j < 0 || line[len(line)-1] != '}' {
		return e, false, fmt.Errorf("events: entry %d does not read", seq)
	}
	if err := json.Unmarshal(line[j+len(member):len(line)-1], &e); err != nil {
		return e, false, fmt.Errorf("events: entry %d: %w", seq, err)
	}
	return e, true, nil
}

func (f Filter) matches(e Event) bool {
	switch {
	case f.ProjectID != "" && e.ProjectID != f.ProjectID:
		// The index found it; the event itself must agree (an index
		// value copied under another project's name must not list it).
		return false
	case f.KeyID != "" && (e.KeyID == nil || *e.KeyID != f.KeyID):
		return false
	case f.Type != "" && e.Type != f.Type && !(strings.HasSuffix(f.Type, ".") && strings.HasPrefix(e.Type, f.Type)):
		return false
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	}
	return true
}

// lastSeq is the sequence number of the last event of a page.
func lastSeq(page []Event) uint64 {
	n, _ := parseSeq(strings.TrimPrefix(page[len(page)-1].ID, "evt_"))
	return n
}

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }

// lineMACOK reports whether entry seq's stored bytes (a binary entry or
// a JSON line) read as entry seq and its mac matches its content: what
// a query checks of each event it returns, one HMAC each, so that it
// never lists an event whose content was changed as intact. (Whether
// entries were removed or reordered only a walk of the chain can tell:
// Verify.)
func (l *Log) lineMACOK(seq uint64, line []byte) bool {
	en, reason := readEntry(seq, line)
	return reason == "" && l.macOK(en)
}
