package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// run stands for entries From..To that retention pruned from the middle
// of the chain (failures, see Prune): Prev is From's link and MAC is
// To's mac, so the chain still links across the gap. Sig, under the
// pruned key, is what nobody but retention can write: a run vouches
// that its entries were failures that retention removed, so removing any
// other entry still breaks the chain. Adjacent runs are merged, so there
// are never more runs than stored entries plus one.
type run struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	Prev string `json:"prev"`
	MAC  string `json:"mac"`
	Sig  string `json:"sig"`
}

// runSig is HMAC(pruned key, from || to as 8 bytes BE || prev || "|" || mac).
func (l *Log) runSig(r run) string {
	m := hmac.New(sha256.New, l.keys.pruned)
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:], r.From)
	binary.BigEndian.PutUint64(b[8:], r.To)
	m.Write(b[:])
	m.Write([]byte(r.Prev + "|" + r.MAC))
	return hex.EncodeToString(m.Sum(nil))
}

// readRun decodes the run stored under k; ok is false unless it reads,
// sits under its From and its signature verifies.
func (l *Log) readRun(k, v []byte) (r run, ok bool) {
	return r, json.Unmarshal(v, &r) == nil && len(k) == 8 && r.From == runSeq(k) && r.From <= r.To &&
		hmac.Equal([]byte(r.Sig), []byte(l.runSig(r)))
}

// addRun records entry en, just deleted, as pruned, merged with the runs
// right before and after it.
func (l *Log) addRun(pb *bolt.Bucket, en stored) error {
	r := run{From: en.Seq, To: en.Seq, Prev: en.Prev, MAC: en.MAC}
	c := pb.Cursor()
	k, v := c.Seek(seqKey(en.Seq))
	if k != nil {
		if after, ok := l.readRun(k, v); !ok {
			return fmt.Errorf("pruned record at evt_%d fails its signature", runSeq(k))
		} else if after.From == en.Seq+1 && after.Prev == en.MAC {
			r.To, r.MAC = after.To, after.MAC
			if err := pb.Delete(k); err != nil {
				return err
			}
		}
		k, v = c.Seek(seqKey(en.Seq)) // the deletion may have moved the cursor
	}
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k != nil {
		if before, ok := l.readRun(k, v); !ok {
			return fmt.Errorf("pruned record at evt_%d fails its signature", runSeq(k))
		} else if before.To+1 == en.Seq && before.MAC == en.Prev {
			r.From, r.Prev = before.From, before.Prev
		}
	}
	return l.putRun(pb, r)
}

// putRun signs r and stores it under its From (replacing a run it grew
// from).
func (l *Log) putRun(pb *bolt.Bucket, r run) error {
	r.Sig = l.runSig(r)
	b, _ := json.Marshal(r)
	return pb.Put(seqKey(r.From), b)
}
