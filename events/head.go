package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// genesis is the link of entry 1 of a log begun since heads are signed
// (32 zero bytes, hex). A log begun before links entry 1 to "", which is
// how Verify tells an old log, whose head may be unsigned, from a new one.
var genesis = strings.Repeat("0", 2*sha256.Size)

// head is the chain's end: the last seq and its mac (of the last entry,
// or of the last run of pruned entries), how many entries are stored
// and how many of them are failures (for retention), signed with the
// head key so that nobody without the master key can move it back. A
// head written before heads were signed has only Seq and MAC.
type head struct {
	Seq      uint64 `json:"seq"`
	MAC      string `json:"mac"`
	Live     uint64 `json:"live,omitempty"`
	Failures uint64 `json:"failures,omitempty"`
	Sig      string `json:"sig,omitempty"`
}

// headSig is HMAC(head key, seq || live || failures as 8 bytes BE each
// || mac in hex).
func (l *Log) headSig(h head) string {
	m := hmac.New(sha256.New, l.keys.head)
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], h.Seq)
	binary.BigEndian.PutUint64(b[8:], h.Live)
	binary.BigEndian.PutUint64(b[16:], h.Failures)
	m.Write(b[:])
	m.Write([]byte(h.MAC))
	return hex.EncodeToString(m.Sum(nil))
}

// loadHead reads the head record. An unsigned one is returned with
// errHeadUnsigned; the others errors leave h unusable.
func (l *Log) loadHead(meta *bolt.Bucket) (h head, err error) {
	v := meta.Get(metaHead)
	switch {
	case v == nil:
		return h, errNoHead
	case json.Unmarshal(v, &h) != nil:
		return h, errHeadUnreadable
	case h.Sig == "":
		return h, errHeadUnsigned
	case !hmac.Equal([]byte(h.Sig), []byte(l.headSig(h))):
		return h, errHeadForged
	}
	return h, nil
}

// putHead signs h and stores it.
func (l *Log) putHead(meta *bolt.Bucket, h head) error {
	h.Sig = l.headSig(h)
	b, _ := json.Marshal(h)
	return meta.Put(metaHead, b)
}

// anchor records where the chain starts after pruning, itself MACed. V
// is 2 for anchors written since heads are signed (their MAC says so, so
// an anchor cannot be passed off as older), 0 before.
type anchor struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
	MAC  string `json:"mac"`
	V    int    `json:"v,omitempty"`
}

func (l *Log) anchorMAC(seq uint64, prev string, v int) string {
	tag := "anchor:"
	if v != 0 {
		tag = "anchor/v2:"
	}
	return hex.EncodeToString(l.mac([]byte(tag+prev), seq, nil))
}

// chainStart is where the chain begins: at the anchor when there is one
// (ok false when the anchor is unreadable or its MAC fails), else at
// entry 1, linked to "" in a log begun before signed heads and to
// genesis since. signed reports that the start proves the latter.
func (l *Log) chainStart(tx *bolt.Tx) (a anchor, signed, ok bool) {
	if v := tx.Bucket(bucketMeta).Get(metaAnchor); v != nil {
		if json.Unmarshal(v, &a) != nil || !hmac.Equal([]byte(a.MAC), []byte(l.anchorMAC(a.Seq, a.Prev, a.V))) {
			return a, false, false
		}
		return a, a.V >= 2, true
	}
	a = anchor{Seq: 1, Prev: genesis}
	if prev, found := firstPrev(tx); found && prev == "" {
		a.Prev = ""
	}
	return a, a.Prev == genesis, true
}

// firstPrev is the link of the first entry or run of pruned entries.
func firstPrev(tx *bolt.Tx) (prev string, found bool) {
	seq, ev, _, _, ok := newEntryIter(tx).next()
	var rk, rv []byte
	if pb := tx.Bucket(bucketPruned); pb != nil {
		rk, rv = pb.Cursor().First()
	}
	var link struct{ Prev string }
	switch {
	case rk != nil && (!ok || runSeq(rk) < seq):
		json.Unmarshal(rv, &link)
	case ok:
		if _, prev, _, _, bin := parseBinEntry(ev); bin {
			return hex.EncodeToString(prev), true
		}
		json.Unmarshal(ev, &link)
	default:
		return "", false
	}
	return link.Prev, true
}
