package events

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// entryIter walks stored entries in seq order: the lines of blocks and,
// in a log written before blocks whose move into blocks is not finished
// (see migrate), the entries still in the legacy events bucket, merged.
type entryIter struct {
	blocks *bolt.Bucket
	bc     *bolt.Cursor // blocks
	bid    uint64       // the current block's id
	rest   []byte       // its lines not yet returned
	binary bool         // it is a binary block
	bseq   uint64       // the next block line's seq
	bline  []byte       // and its bytes, nil when blocks are done
	lc     *bolt.Cursor // legacy entries
	lk, lv []byte
}

func newEntryIter(tx *bolt.Tx) *entryIter {
	it := &entryIter{}
	if b := tx.Bucket(bucketBlocks); b != nil {
		it.blocks, it.bc = b, b.Cursor()
		k, v := it.bc.First()
		it.load(k, v)
	}
	if b := tx.Bucket(bucketEvents); b != nil {
		it.lc = b.Cursor()
		it.lk, it.lv = it.lc.First()
		it.skipLegacy()
	}
	return it
}

// load makes block k, v current and reads its first line.
func (it *entryIter) load(k, _ []byte) {
	var v []byte
	for ; k != nil; k, _ = it.bc.Next() {
		if len(k) != 8 {
			continue // not a block id: no writer put it there, no query reads it
		}
		if v = readBlock(it.blocks, k); len(v) > 0 {
			break
		}
	}
	if k == nil {
		it.bline = nil
		return
	}
	it.bid, it.rest = binary.BigEndian.Uint64(k), v
	if it.binary = isBinaryBlock(v); it.binary {
		it.rest = v[1:]
	}
	it.bseq = it.bid
	it.advance()
}

// advance reads the current block's next line into bseq, bline.
func (it *entryIter) advance() {
	if len(it.rest) == 0 {
		k, v := it.bc.Next()
		it.load(k, v)
		return
	}
	var line []byte
	line, it.rest = nextLine(it.rest, it.binary)
	if s := lineSeq(line); s != 0 {
		it.bseq = s
	} // else: an unreadable line keeps its place after the line before it
	it.bline = line
}

// next returns the next entry: its seq (for a block line whose seq does
// not read, that of the line before it) and its bytes. ok is false at the
// end. block is the id of the block holding it, 0 for a legacy entry;
// last reports that it is its block's last line.
func (it *entryIter) next() (seq uint64, line []byte, block uint64, last, ok bool) {
	legacy := it.lk != nil
	fromBlock := it.bline != nil
	switch {
	case fromBlock && (!legacy || it.bseq < binary.BigEndian.Uint64(it.lk)):
		seq, line, block = it.bseq, it.bline, it.bid
		last = len(it.rest) == 0
		it.advance()
		return seq, line, block, last, true
	case legacy:
		seq, line = binary.BigEndian.Uint64(it.lk), it.lv
		it.lk, it.lv = it.lc.Next()
		it.skipLegacy()
		return seq, line, 0, false, true
	}
	return 0, nil, 0, false, false
}

// skipLegacy passes over legacy keys that are not a seq (only someone
// editing the file puts them there).
func (it *entryIter) skipLegacy() {
	for it.lk != nil && len(it.lk) != 8 {
		it.lk, it.lv = it.lc.Next()
	}
}
