package events

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The helpers below read and change single entries as someone with the
// file but without the master key can: in the block that holds them, or
// in the legacy events bucket of a log written before blocks.

// blockOf returns the key and value of the block holding seq, or nils.
// A line whose seq was changed is found by its place (seq - block id),
// which holds in blocks that retention did not change.
func blockOf(tx *bolt.Tx, seq uint64) (k, v []byte) {
	b := tx.Bucket(bucketBlocks)
	if b == nil {
		return nil, nil
	}
	c := b.Cursor()
	k, _ = c.Seek(seqKey(seq))
	if k == nil || binary.BigEndian.Uint64(k) != seq {
		k, _ = c.Prev()
	}
	if k != nil {
		v = readBlock(b, k)
	}
	if k == nil || lineAt(v, binary.BigEndian.Uint64(k), seq) < 0 {
		return nil, nil
	}
	return k, v
}

// lineAt is the index of entry seq's line in block id, or -1.
func lineAt(block []byte, id, seq uint64) int {
	i, at, n := 0, -1, 0
	forEachLine(block, func(s uint64, _ []byte) bool {
		if s == seq {
			at = i
		}
		i++
		n++
		return true
	})
	if at < 0 && seq-id < uint64(n) {
		at = int(seq - id)
	}
	return at
}

// getEntry returns the stored bytes of entry seq, or nil.
func getEntry(tx *bolt.Tx, seq uint64) []byte {
	if k, v := blockOf(tx, seq); v != nil {
		var line []byte
		at, i := lineAt(v, binary.BigEndian.Uint64(k), seq), 0
		forEachLine(v, func(_ uint64, l []byte) bool {
			if i == at {
				line = l
			}
			i++
			return true
		})
		return line
	}
	if b := tx.Bucket(bucketEvents); b != nil {
		return b.Get(seqKey(seq))
	}
	return nil
}

// putEntry replaces entry seq's bytes with v (nil deletes it).
func putEntry(tx *bolt.Tx, seq uint64, v []byte) error {
	k, block := blockOf(tx, seq)
	if k == nil {
		if b := tx.Bucket(bucketEvents); b != nil && b.Get(seqKey(seq)) != nil {
			if v == nil {
				return b.Delete(seqKey(seq))
			}
			return b.Put(seqKey(seq), v)
		}
		return fmt.Errorf("no entry %d", seq)
	}
	var out []byte
	at, i, bin := lineAt(block, binary.BigEndian.Uint64(k), seq), 0, isBinaryBlock(block)
	forEachLine(block, func(_ uint64, line []byte) bool {
		i++
		switch {
		case i-1 != at:
			out = appendBlockLine(out, line, bin)
		case v != nil:
			out = appendBlockLine(out, v, bin)
		}
		return true
	})
	return writeBlock(tx.Bucket(bucketBlocks), append([]byte(nil), k...), out)
}

// deleteEntry deletes entry seq.
func deleteEntry(tx *bolt.Tx, seq uint64) error { return putEntry(tx, seq, nil) }

// listFailures adds seqs to the failure list of the block holding each.
func listFailures(tx *bolt.Tx, seqs ...uint64) error {
	for _, seq := range seqs {
		k, _ := blockOf(tx, seq)
		if k == nil {
			return fmt.Errorf("no entry %d", seq)
		}
		fb := tx.Bucket(bucketFailBlocks)
		list := append([]byte(nil), fb.Get(k)...)
		list = binary.AppendUvarint(list, seq-binary.BigEndian.Uint64(k))
		if err := fb.Put(append([]byte(nil), k...), list); err != nil {
			return err
		}
	}
	return nil
}

// replaceInEntry replaces old with new in entry seq.
func replaceInEntry(tx *bolt.Tx, seq uint64, old, new string) error {
	return putEntry(tx, seq, bytes.Replace(getEntry(tx, seq), []byte(old), []byte(new), 1))
}

// logBuckets are the buckets of a log in blocks.
var logBuckets = [][]byte{bucketBlocks, bucketProjectIdx, bucketKeyIdx, bucketAdminIdx, bucketBlockKeys,
	bucketFailBlocks, bucketMeta, bucketPruned}
