package events

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// VerifyResult is the outcome of checking the chain.
type VerifyResult struct {
	OK bool `json:"ok"`
	// Checked is how many entries were read.
	Checked uint64 `json:"checked"`
	// FirstSeq and LastSeq bound the entries present (after pruning).
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Broken names the first entry that fails, when OK is false.
	Broken *Broken `json:"first_broken,omitempty"`
}

// Broken names one entry that fails verification and why.
type Broken struct {
	Seq    uint64 `json:"seq"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// anchor records where the chain starts after pruning, itself MACed.
type anchor struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
	MAC  string `json:"mac"`
}

func (l *Log) anchorMAC(seq uint64, prev string) string {
	return hex.EncodeToString(l.mac([]byte("anchor:"+prev), seq, nil))
}

// Verify walks the chain from its anchor to its head and reports the first
// entry that was changed, removed, inserted or reordered.
func (l *Log) Verify() (VerifyResult, error) {
	var res VerifyResult
	err := l.db.View(func(tx *bolt.Tx) error {
		evb, meta := tx.Bucket(bucketEvents), tx.Bucket(bucketMeta)
		if evb == nil || meta == nil {
			res.OK = true
			return nil
		}
		wantSeq, wantPrev, broken := uint64(1), "", (*Broken)(nil)
		if v := meta.Get(metaAnchor); v != nil {
			var a anchor
			if json.Unmarshal(v, &a) != nil || !hmac.Equal([]byte(a.MAC), []byte(l.anchorMAC(a.Seq, a.Prev))) {
				broken = &Broken{Reason: "the pruning anchor was changed"}
			}
			wantSeq, wantPrev = a.Seq, a.Prev
		}
		res.FirstSeq = wantSeq
		c := evb.Cursor()
		for k, v := c.First(); k != nil && broken == nil; k, v = c.Next() {
			res.Checked++
			broken = l.checkEntry(k, v, wantSeq, wantPrev)
			if broken == nil {
				var en entry
				json.Unmarshal(v, &en)
				wantSeq, wantPrev = en.Seq+1, en.MAC
				res.LastSeq = en.Seq
			}
		}
		if broken == nil {
			broken = l.checkHead(meta, wantSeq-1, wantPrev)
		}
		res.Broken, res.OK = broken, broken == nil
		return nil
	})
	return res, err
}

// checkEntry verifies one stored entry against the expected links.
func (l *Log) checkEntry(k, v []byte, wantSeq uint64, wantPrev string) *Broken {
	seq := binary.BigEndian.Uint64(k)
	b := &Broken{Seq: seq, ID: "evt_" + strconv.FormatUint(seq, 10)}
	var en entry
	var ev struct{ ID string }
	switch {
	case json.Unmarshal(v, &en) != nil || json.Unmarshal(en.Event, &ev) != nil:
		b.Reason = "entry is unreadable"
	case !canonical(v, en):
		b.Reason = "entry was changed (not in the form it was written in)"
	case en.Seq != seq || ev.ID != b.ID:
		b.Reason = "entry was moved"
	case seq != wantSeq:
		b.Reason = fmt.Sprintf("entries missing before it (expected evt_%d)", wantSeq)
	case en.Prev != wantPrev:
		b.Reason = "link to the previous entry does not match (an entry before it was changed or removed)"
	default:
		prev, _ := hex.DecodeString(en.Prev)
		if !hmac.Equal([]byte(en.MAC), []byte(hex.EncodeToString(l.mac(prev, seq, en.Event)))) {
			b.Reason = "content was changed (HMAC mismatch)"
		} else {
			return nil
		}
	}
	return b
}

// checkHead verifies that the chain ends where the head says, so entries
// removed from the end are found too.
func (l *Log) checkHead(meta *bolt.Bucket, lastSeq uint64, lastMAC string) *Broken {
	var h head
	if v := meta.Get(metaHead); v != nil {
		if json.Unmarshal(v, &h) != nil {
			return &Broken{Reason: "the head record is unreadable"}
		}
	}
	if h.Seq != lastSeq || h.MAC != lastMAC {
		return &Broken{Seq: h.Seq, ID: "evt_" + strconv.FormatUint(h.Seq, 10), Reason: "entries missing at the end (the head names a later entry)"}
	}
	return nil
}

// canonical reports whether v is exactly how en is written, so that no
// byte of a stored entry can change without Verify noticing.
func canonical(v []byte, en entry) bool {
	b, err := json.Marshal(en)
	return err == nil && bytes.Equal(b, v)
}
