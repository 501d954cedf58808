package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
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

// maxScan bounds how many entries one query reads while filtering.
const maxScan = 200_000

// Query returns one page of events and the cursor of the next (older) page,
// or "" when there is none.
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
	var out []Event
	next := ""
	err = l.db.View(func(tx *bolt.Tx) error {
		idx, evb := tx.Bucket(bucketByProject), tx.Bucket(bucketEvents)
		if idx == nil {
			return nil
		}
		prefix := append([]byte(f.ProjectID), 0)
		c := idx.Cursor()
		k, _ := c.Seek(projectKey(f.ProjectID, start))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for scanned := 0; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 && scanned < maxScan; scanned++ {
			seq := binary.BigEndian.Uint64(k[len(prefix):])
			if seq <= after {
				break
			}
			e, err := readEvent(evb, seq)
			if err != nil {
				return err
			}
			if f.matches(e) {
				if len(out) == f.Limit {
					next = "c" + strconv.FormatUint(lastSeq(out), 10)
					break
				}
				out = append(out, e)
			}
			k, _ = c.Prev()
		}
		return nil
	})
	return out, next, err
}

func (f Filter) matches(e Event) bool {
	switch {
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

func readEvent(b *bolt.Bucket, seq uint64) (Event, error) {
	var en entry
	var e Event
	v := b.Get(seqKey(seq))
	if v == nil {
		return e, fmt.Errorf("events: index names missing entry %d", seq)
	}
	if err := json.Unmarshal(v, &en); err != nil {
		return e, fmt.Errorf("events: entry %d: %w", seq, err)
	}
	if err := json.Unmarshal(en.Event, &e); err != nil {
		return e, fmt.Errorf("events: entry %d: %w", seq, err)
	}
	return e, nil
}

// lastSeq is the sequence number of the last event of a page.
func lastSeq(page []Event) uint64 {
	n, _ := parseSeq(strings.TrimPrefix(page[len(page)-1].ID, "evt_"))
	return n
}

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
