package events

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// The index values are not chained: whoever can write the file, without
// the master key, could edit them so that queries pass over events that
// are still there (delete a family's value, move an entry's time or type
// in it, reorder its records, lower the times in its header) while every
// entry still verifies. So Verify also checks that each verified entry is
// where a query looks for it: a record of its seq, type and time in the
// value of each of its families (the project; the project's key; the
// project's events of other types than request) under its block, in a
// value whose records go up by seq and whose header's least time is not
// after it; and that no value of a family claims (upTo) an earlier
// greatest time than a verified entry of the family in its block or an
// earlier one has. Extra records are allowed: retention removes failures
// from a block and leaves its index values, and a query reads each event
// it lists and checks it against the filter.

// idxWant is a verified entry of the block being walked.
type idxWant struct {
	seq            uint64
	project, keyID string
	code           byte
	admin          bool
	t              int64
}

// idxFamily is a family's index value of the block being walked.
type idxFamily struct {
	recs    []idxRecord
	min     int64
	at      int // the next record to look at
	present bool
	maxT    int64 // the greatest time of its verified entries
}

// idxSeen is the greatest time of a family's verified entries in one block.
type idxSeen struct {
	blk  uint64
	maxT int64
}

// idxCheck is Verify's state for the index.
type idxCheck struct {
	blk  uint64
	want []idxWant
	fams map[string]*idxFamily // this block's: bucket's family byte || family
	seen map[string][]idxSeen  // every block's, in block order
	key  []byte
	get  []byte       // scratch bucket key
	free []*idxFamily // values of earlier blocks, their records' room reused
}

// indexEntry notes verified entry en of block blk (0 for a legacy entry,
// which has an index of its own), checking the block before it when en
// starts another.
func (w *walker) indexEntry(tx *bolt.Tx, blk uint64, en *stored) *Broken {
	ix := &w.ix
	if blk != ix.blk {
		if b := w.indexBlock(tx); b != nil {
			return b
		}
		ix.blk, ix.want = blk, ix.want[:0]
	}
	if blk == 0 {
		return nil
	}
	t, ok := en.unixNanos()
	if !ok {
		return nil // the writer could not have indexed a time it wrote so (a year past 9999)
	}
	ix.want = append(ix.want, idxWant{seq: en.Seq, project: en.ev.Project, keyID: en.ev.KeyID,
		code: typeCode(en.ev.Type), admin: en.ev.Type != TypeRequest, t: t})
	return nil
}

// indexBlock checks the noted entries of the block being walked against
// its index values.
func (w *walker) indexBlock(tx *bolt.Tx) *Broken {
	ix := &w.ix
	if ix.blk == 0 || len(ix.want) == 0 {
		return nil
	}
	if ix.fams == nil {
		ix.fams, ix.seen = map[string]*idxFamily{}, map[string][]idxSeen{}
	}
	for _, f := range ix.fams {
		ix.free = append(ix.free, f)
	}
	clear(ix.fams)
	for _, e := range ix.want {
		fams := [3]byte{famProject}
		n := 1
		if e.keyID != "" {
			fams[n], n = famKey, n+1
		}
		if e.admin {
			fams[n], n = famAdmin, n+1
		}
		for _, fam := range fams[:n] {
			ix.key = append(append(ix.key[:0], fam), e.project...)
			if fam == famKey {
				ix.key = append(append(ix.key, 0), e.keyID...)
			}
			ix.key = append(ix.key, 0)
			f := ix.fams[string(ix.key)]
			if f == nil {
				f = w.loadFamily(tx, ix.key, ix.blk)
				ix.fams[string(ix.key)] = f
			}
			if b := w.indexed(f, fam, e); b != nil {
				return b
			}
		}
	}
	for k, f := range ix.fams {
		ix.seen[k] = append(ix.seen[k], idxSeen{ix.blk, f.maxT})
	}
	return nil
}

// loadFamily reads family key's (family byte || family) value of block
// blk: present is false when there is none or it does not read.
func (w *walker) loadFamily(tx *bolt.Tx, key []byte, blk uint64) *idxFamily {
	ix := &w.ix
	f := &idxFamily{}
	if n := len(ix.free); n > 0 {
		f, ix.free = ix.free[n-1], ix.free[:n-1]
	}
	*f = idxFamily{recs: f.recs[:0], maxT: minTime}
	var v []byte
	if b := tx.Bucket(famBucket(key[0])); b != nil {
		ix.get = binary.BigEndian.AppendUint64(append(ix.get[:0], key[1:]...), blk)
		v = b.Get(ix.get)
	}
	recs, ok := decodeIndex(f.recs, blk, v)
	for i := 1; ok && i < len(recs); i++ {
		ok = recs[i].seq > recs[i-1].seq
	}
	if ok {
		f.recs, f.min, f.present = recs, int64(binary.BigEndian.Uint64(v)), true
	}
	return f
}

// indexed checks entry e's record in its family's value f.
func (w *walker) indexed(f *idxFamily, fam byte, e idxWant) *Broken {
	if f.present {
		for f.at < len(f.recs) && f.recs[f.at].seq < e.seq {
			f.at++
		}
	}
	var why string
	switch {
	case !f.present:
		why = "%s index value is missing or does not read"
	case f.at == len(f.recs) || f.recs[f.at].seq != e.seq:
		why = "no record of it in %s index value"
	case f.recs[f.at].code != e.code || f.recs[f.at].time != e.t:
		why = "its type or time in %s index value differs"
	case f.min > e.t:
		why = "%s index value claims a later first time"
	default:
		f.maxT = max(f.maxT, e.t)
		return nil
	}
	what := map[byte]string{famProject: "its project's", famKey: "its key's", famAdmin: "its project's admin events'"}[fam]
	return &Broken{Seq: e.seq, ID: "evt_" + strconv.FormatUint(e.seq, 10),
		Reason: "the index was changed: queries would not list this entry (" + fmt.Sprintf(why, what) + ")"}
}

// indexUpTo checks, after the chain, every index value's upTo against
// the verified entries of its family up to its block: a query walking
// back stops at a value whose upTo is before its Since.
func (w *walker) indexUpTo(tx *bolt.Tx) *Broken {
	for _, fam := range []byte{famProject, famKey, famAdmin} {
		b := tx.Bucket(famBucket(fam))
		if b == nil {
			continue // a log from before blocks: no entry of a block to find
		}
		c := b.Cursor()
		var family []byte
		var seen []idxSeen
		at, runMax := 0, int64(minTime)
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) < 9 {
				continue // not where a query looks
			}
			fk, blk := k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])
			if !indexReads(v) {
				// A query of its family fails at it, whether or not the
				// family has entries in that block.
				return &Broken{Seq: blk, ID: "evt_" + strconv.FormatUint(blk, 10),
					Reason: "the index was changed: an index value of this block does not read (queries of its family fail)"}
			}
			if !bytes.Equal(fk, family) {
				family = append(family[:0], fk...)
				seen = w.ix.seen[string(append([]byte{fam}, fk...))]
				at, runMax = 0, minTime
			}
			for at < len(seen) && seen[at].blk <= blk {
				runMax = max(runMax, seen[at].maxT)
				at++
			}
			if int64(binary.BigEndian.Uint64(v[16:])) < runMax {
				return &Broken{Seq: blk, ID: "evt_" + strconv.FormatUint(blk, 10),
					Reason: "the index was changed: an index value of this block claims an earlier greatest time than its family's events have (queries would stop before them)"}
			}
		}
	}
	return nil
}

// indexReads reports whether index value v reads (decodeIndex would
// decode it), without decoding it.
func indexReads(v []byte) bool {
	if len(v) < idxHeader {
		return false
	}
	for v = v[idxHeader:]; len(v) > 0; {
		_, n := binary.Uvarint(v)
		if n <= 0 || len(v) < n+1 {
			return false
		}
		v = v[n+1:]
		_, m := binary.Varint(v)
		if m <= 0 {
			return false
		}
		v = v[m:]
	}
	return true
}
