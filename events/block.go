package events

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"
)

// Blocks. Entries are stored many to a bbolt value: a block is the
// entries in binary (see record.go), or, in blocks written before that,
// their JSON lines (exactly the bytes json.Marshal of entry writes, each
// followed by '\n'), in seq order, under the seq of its first entry
// (its id, which it keeps when retention removes entries from it). Each
// block is the value "lines" of its own bucket inside the blocks bucket:
// bbolt rewrites a whole leaf when a key is added to it, and a leaf of
// large values would be copied again with every new block; a leaf of
// bucket headers is small (a small block's bucket is stored inline).
//
// The writer adds each transaction's events to the open block and
// starts a new block when it is full (blockMaxEntries, blockMaxBytes),
// and after a transaction that left it blockKeepOpen bytes or more: a
// busy log writes each entry once, and a quiet one rewrites at most
// blockKeepOpen bytes per transaction instead of a block per event.
//
// Each block has index values, one per family of events it holds (a
// project's events; a project's events of one key; a project's events
// of other types than request), under family key || block id. An index
// value lists, for each of the family's events in the block, its seq,
// type and time (see idxValue), so that Query filters without reading
// events. blockKeys lists a block's index keys so retention can delete
// them with it; failureBlocks lists the failures a block holds.
const (
	blockMaxEntries = 512
	blockMaxBytes   = 256 << 10
	blockKeepOpen   = 16 << 10
)

// blockLines is the key of a block's lines in its bucket, stored
// compressed in the Snappy block format: JSON lines of events shrink
// about fourfold, and on a busy log the bytes written cost more than
// compressing them (new file pages especially).
var blockLines = []byte("lines")

// readBlock returns the lines of block k, nil when there is none or
// they do not decompress (Verify then finds its entries missing).
func readBlock(blocks *bolt.Bucket, k []byte) []byte { return readBlockInto(nil, blocks, k) }

// readBlockInto is readBlock decompressing into dst when it is large
// enough. A block that claims to decompress to more than maxBlockLen
// does not read: its length comes from the file, and a changed one
// would otherwise have readers allocate up to 4 GiB.
func readBlockInto(dst []byte, blocks *bolt.Bucket, k []byte) []byte {
	if b := blocks.Bucket(k); b != nil {
		z := b.Get(blockLines)
		n, err := s2.DecodedLen(z)
		if err != nil || n > maxBlockLen {
			return nil
		}
		if n > cap(dst) {
			dst = make([]byte, n)
		}
		lines, err := s2.Decode(dst[:cap(dst)], z)
		if err == nil {
			return lines
		}
	}
	return nil
}

// writeBlock stores the lines of block k.
func writeBlock(blocks *bolt.Bucket, k, lines []byte) error {
	return putBlock(blocks, k, s2.EncodeSnappy(nil, lines))
}

// putBlock stores the compressed lines of block k; bbolt holds z until
// the commit.
func putBlock(blocks *bolt.Bucket, k, z []byte) error {
	b, err := blocks.CreateBucketIfNotExists(k)
	if err != nil {
		return err
	}
	b.FillPercent = 1
	return b.Put(blockLines, z)
}

var (
	bucketBlocks     = []byte("blocks")         // block id → entry lines
	bucketProjectIdx = []byte("project_index")  // project 0x00 block id → index value
	bucketKeyIdx     = []byte("key_index")      // project 0x00 key id 0x00 block id → index value
	bucketAdminIdx   = []byte("admin_index")    // project 0x00 block id → index value (types other than request)
	bucketBlockKeys  = []byte("block_keys")     // block id → the block's index keys
	bucketFailBlocks = []byte("failure_blocks") // block id → the seqs of the failures it holds
)

// index families, the first byte of an accumulator's map key.
const (
	famProject = 'p'
	famKey     = 'k'
	famAdmin   = 'a'
)

func famBucket(fam byte) []byte {
	switch fam {
	case famKey:
		return bucketKeyIdx
	case famAdmin:
		return bucketAdminIdx
	}
	return bucketProjectIdx
}

// idxHeader is the fixed start of an index value: the least and greatest
// time of its records and upTo, the greatest time of any record of the
// family in this block or an earlier one. upTo never decreases along a
// family, so a query walking back stops at the first value whose upTo is
// before its Since. Times are Unix nanoseconds.
const idxHeader = 24

// typeCode is a type's index in Types plus one; 0 for an unknown type.
func typeCode(typ string) byte {
	for i, t := range Types {
		if t == typ {
			return byte(i + 1)
		}
	}
	return 0
}

// lastFamily is a family the builder used last, by what names it.
type lastFamily struct {
	project, keyID string
	a              *idxAcc
}

func famIndex(fam byte) int {
	switch fam {
	case famKey:
		return 1
	case famAdmin:
		return 2
	}
	return 0
}

// idxAcc accumulates one family's index value for the open block.
type idxAcc struct {
	fam      byte
	key      string // its key in the builder's maps: family byte || family key
	family   []byte // the bucket key without the block id
	recs     []byte // records: uvarint(seq - block), type code, varint(time - previous time)
	min, max int64
	last     int64
	n        int
	upTo     int64 // the family's upTo before this block
}

// builder is the writer's open block and its index values.
type builder struct {
	id    uint64 // the block's id, 0 when none is open
	bin   bool   // it is a binary block (its first entry is binary; see record.go)
	buf   []byte
	n     int
	accs  map[string]*idxAcc // by family byte || family key
	order []*idxAcc          // the open block's accumulators, in order of use
	fails []byte             // uvarints of failure seqs - id
	upTo  map[string]int64   // the families' upTo after their last block
	key   []byte             // scratch map key
	keys  []byte             // scratch block_keys value
	last  [3]lastFamily      // by famIndex: the family of the last record (a busy project's come in runs)
	// Compressed blocks' buffers: those stored in the current transaction
	// (bbolt holds them until the commit) and those free again after it.
	held, free [][]byte
	// arena holds the transaction's index values and keys, which bbolt
	// also holds until the commit: one chunk reused from one transaction
	// to the next instead of an allocation for each.
	arena []byte
}

// arenaChunk is the size of an arena chunk: a 2,000-event transaction's
// index values take about 30 KiB.
const arenaChunk = 64 << 10

// alloc returns n bytes of the arena (length n), which stay as they are
// until the transaction ends. When the chunk is full a new one is taken;
// the old one is left to bbolt, and to the collector after the commit.
func (b *builder) alloc(n int) []byte {
	if cap(b.arena)-len(b.arena) < n {
		b.arena = make([]byte, 0, max(arenaChunk, n))
	}
	at := len(b.arena)
	b.arena = b.arena[:at+n]
	return b.arena[at : at+n : at+n]
}

// blockCap is a block buffer's capacity: a full block and a last line.
const blockCap = blockMaxBytes + 64<<10

// maxBlockLen bounds the decompressed length of a stored block: the
// writer's are at most blockMaxBytes and one entry more (an entry holds
// at most a few tens of KiB: see limits.go).
const maxBlockLen = 4 << 20

func newBuilder() *builder {
	return &builder{accs: map[string]*idxAcc{}, upTo: map[string]int64{}}
}

// add appends one entry's line to the open block (opening one at seq)
// and its records to its families' index values.
func (b *builder) add(tx *bolt.Tx, seq uint64, line []byte, project, keyID, typ string, status int, t int64) {
	b.addLine(seq, line)
	b.index(tx, seq, project, keyID, typ, status, t)
}

// addLine appends one entry's line to the open block (opening one at
// seq); the caller indexes it.
func (b *builder) addLine(seq uint64, line []byte) {
	b.open(seq)
	if b.n == 0 {
		b.bin = isBinEntry(line)
	}
	b.buf = appendBlockLine(b.buf, line, b.bin)
	b.n++
}

// open opens a block at seq unless one is open.
func (b *builder) open(seq uint64) {
	if b.id == 0 {
		b.id = seq
		if b.buf == nil {
			b.buf = make([]byte, 0, blockCap)
		}
		b.buf = b.buf[:0]
	}
}

// beginBin starts a binary entry of seq in the open block (opening one
// at seq), which must be binary or empty: what the entry holds is then
// appended to b.buf, as the writer encodes it there rather than copying
// it in, and endBin ends it. lenAt is where its length goes.
func (b *builder) beginBin(seq uint64) (lenAt int) {
	b.open(seq)
	if b.n == 0 {
		b.bin = true
		b.buf = append(b.buf[:0], blockBinary)
	}
	b.buf = append(b.buf, 0, 0) // the length, as two bytes: most entries are 128 to 16383 bytes
	return len(b.buf) - 2
}

// endBin ends the entry begun at lenAt: it writes its length there,
// moving the entry when its uvarint is not two bytes long, and returns
// the entry. The caller indexes it (index).
func (b *builder) endBin(lenAt int) []byte {
	n := len(b.buf) - lenAt - 2
	var l [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(l[:], uint64(n))
	if k != 2 {
		end := lenAt + k + n
		if k > 2 {
			b.buf = append(b.buf, make([]byte, k-2)...)
		}
		copy(b.buf[lenAt+k:end], b.buf[lenAt+2:lenAt+2+n])
		b.buf = b.buf[:end]
	}
	copy(b.buf[lenAt:], l[:k])
	b.n++
	return b.buf[lenAt+k:]
}

// index adds an entry's records to its families' index values.
func (b *builder) index(tx *bolt.Tx, seq uint64, project, keyID, typ string, status int, t int64) {
	code := typeCode(typ)
	b.record(tx, famProject, project, "", seq, code, t)
	if keyID != "" {
		b.record(tx, famKey, project, keyID, seq, code, t)
	}
	if typ != TypeRequest {
		b.record(tx, famAdmin, project, "", seq, code, t)
	}
	if isFailure(typ, status) {
		b.fails = binary.AppendUvarint(b.fails, seq-b.id)
	}
}

func (b *builder) record(tx *bolt.Tx, fam byte, project, keyID string, seq uint64, code byte, t int64) {
	c := &b.last[famIndex(fam)]
	a := c.a
	if a == nil || c.project != project || c.keyID != keyID {
		k := append(append(b.key[:0], fam), project...)
		if fam == famKey {
			k = append(append(k, 0), keyID...)
		}
		b.key = k
		if a = b.accs[string(k)]; a == nil {
			a = &idxAcc{fam: fam, key: string(k), family: append(append([]byte(nil), k[1:]...), 0)}
			b.accs[a.key] = a
		}
		*c = lastFamily{project, keyID, a}
	}
	if a.n == 0 {
		up, ok := b.upTo[a.key]
		if !ok {
			up = lastUpTo(tx.Bucket(famBucket(fam)), a.family)
		}
		a.upTo, a.min, a.max, a.last = up, t, t, 0
		b.order = append(b.order, a)
	}
	a.recs = binary.AppendUvarint(a.recs, seq-b.id)
	a.recs = append(a.recs, code)
	a.recs = binary.AppendVarint(a.recs, t-a.last)
	a.last = t
	a.min, a.max = min(a.min, t), max(a.max, t)
	a.n++
}

// lastUpTo reads the upTo of a family's last index value.
func lastUpTo(b *bolt.Bucket, family []byte) int64 {
	c := b.Cursor()
	k, v := c.Seek(append(append([]byte(nil), family...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	// A key under the family that is not family || block id indexes
	// nothing (queries pass over it): the family's last value is before it.
	for k != nil && bytes.HasPrefix(k, family) && len(k) != len(family)+8 {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, family) || len(v) < idxHeader {
		return minTime
	}
	return int64(binary.BigEndian.Uint64(v[16:]))
}

const minTime = -1 << 63

// full reports whether the open block must be closed.
func (b *builder) full() bool {
	return b.n >= blockMaxEntries || len(b.buf) >= blockMaxBytes
}

// put stores the open block and its index values in tx; with close it
// then starts a new block. Stored values are copies or are never
// written to again (a closed block's buffer is not reused), as bbolt
// keeps them until the commit.
func (b *builder) put(tx *bolt.Tx, close bool) error {
	if b.id == 0 {
		return nil
	}
	id := binary.BigEndian.AppendUint64(b.alloc(8)[:0], b.id)
	var z []byte
	if n := len(b.free); n > 0 {
		z, b.free = b.free[n-1], b.free[:n-1]
	}
	if need := s2.MaxEncodedLen(len(b.buf)); cap(z) < need {
		z = make([]byte, max(need, s2.MaxEncodedLen(blockCap)))
	}
	z = s2.EncodeSnappy(z[:cap(z)], b.buf)
	b.held = append(b.held, z[:0])
	if err := putBlock(tx.Bucket(bucketBlocks), id, z); err != nil {
		return err
	}
	b.keys = b.keys[:0]
	for _, a := range b.order {
		v := b.alloc(idxHeader + len(a.recs))
		binary.BigEndian.PutUint64(v[0:], uint64(a.min))
		binary.BigEndian.PutUint64(v[8:], uint64(a.max))
		binary.BigEndian.PutUint64(v[16:], uint64(max(a.upTo, a.max)))
		copy(v[idxHeader:], a.recs)
		k := b.alloc(len(a.family) + len(id))
		copy(k[copy(k, a.family):], id)
		if err := tx.Bucket(famBucket(a.fam)).Put(k, v); err != nil {
			return err
		}
		b.keys = append(b.keys, a.fam)
		b.keys = binary.AppendUvarint(b.keys, uint64(len(k)))
		b.keys = append(b.keys, k...)
	}
	if err := tx.Bucket(bucketBlockKeys).Put(id, b.hold(b.keys)); err != nil {
		return err
	}
	if len(b.fails) > 0 {
		if err := tx.Bucket(bucketFailBlocks).Put(id, b.hold(b.fails)); err != nil {
			return err
		}
	}
	if close || b.full() || len(b.buf) >= blockKeepOpen {
		b.close()
	}
	return nil
}

// hold returns a copy of v in the arena.
func (b *builder) hold(v []byte) []byte {
	h := b.alloc(len(v))
	copy(h, v)
	return h
}

// committed makes the buffers of blocks closed in the transaction just
// committed free for new blocks, and the arena free again. It keeps as
// many free buffers as this transaction used and one more: a burst (a
// flush that carried more blocks than usual) does not leave its extra
// buffers, a few hundred KiB each, held for the life of the process.
func (b *builder) committed() {
	used := len(b.held)
	b.free = append(b.free, b.held...)
	clear(b.held)
	b.held = b.held[:0]
	if keep := used + 1; len(b.free) > keep {
		clear(b.free[keep:])
		b.free = b.free[:keep]
	}
	b.arena = b.arena[:0]
}

// close forgets the open block: the next entry opens a new one.
func (b *builder) close() {
	for _, a := range b.order {
		b.upTo[a.key] = max(a.upTo, a.max)
		a.recs, a.n = a.recs[:0], 0
	}
	b.id, b.n, b.order, b.fails = 0, 0, b.order[:0], b.fails[:0]
}

// reset drops the open block after a failed transaction: what was
// committed of it stays as it is, and the next entry opens a new block.
// The families' upTo are read again from the file.
func (b *builder) reset() {
	clear(b.held)
	b.held, b.buf, b.arena = b.held[:0], nil, b.arena[:0]
	b.close()
	clear(b.upTo)
}

// forEachLine calls fn with the seq and bytes of each entry of a block
// (a JSON line without its '\n', or a binary entry) until fn returns
// false. An entry whose seq cannot be read is passed with seq 0.
func forEachLine(block []byte, fn func(seq uint64, line []byte) bool) {
	bin := isBinaryBlock(block)
	if bin {
		block = block[1:]
	}
	for len(block) > 0 {
		var line []byte
		line, block = nextLine(block, bin)
		if !fn(lineSeq(line), line) {
			return
		}
	}
}

// nextLine cuts the next entry off rest, a block's entries not yet read
// (after a binary block's first byte): a binary entry (bin) and its
// length, whose length when it does not read takes the rest; or a JSON
// line and its '\n'.
func nextLine(rest []byte, bin bool) (line, after []byte) {
	if bin {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return rest, nil
		}
		return rest[k : k+int(n)], rest[k+int(n):]
	}
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return rest, nil
}

// lineSeq reads the seq an entry starts with (binary, or a JSON line's
// {"seq":N,), or 0.
func lineSeq(line []byte) uint64 {
	if seq, _, _, _, ok := parseBinEntry(line); ok {
		return seq
	}
	const pre = `{"seq":`
	if !bytes.HasPrefix(line, []byte(pre)) {
		return 0
	}
	rest := line[len(pre):]
	i := bytes.IndexByte(rest, ',')
	if i <= 0 {
		return 0
	}
	n, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// findLine returns the line of entry seq in block, or nil.
func findLine(block []byte, seq uint64) []byte {
	var found []byte
	forEachLine(block, func(s uint64, line []byte) bool {
		if s == seq {
			found = line
		}
		return s < seq
	})
	return found
}

// idxRecord is one decoded index record.
type idxRecord struct {
	seq  uint64
	code byte
	time int64
}

// decodeIndex appends the records of an index value under block id to
// dst; ok is false when the value does not read.
func decodeIndex(dst []idxRecord, id uint64, v []byte) (_ []idxRecord, ok bool) {
	if len(v) < idxHeader {
		return dst, false
	}
	v = v[idxHeader:]
	var t int64
	for len(v) > 0 {
		d, n := binary.Uvarint(v)
		if n <= 0 || len(v) < n+1 {
			return dst, false
		}
		code := v[n]
		v = v[n+1:]
		dt, m := binary.Varint(v)
		if m <= 0 {
			return dst, false
		}
		v = v[m:]
		t += dt
		dst = append(dst, idxRecord{seq: id + d, code: code, time: t})
	}
	return dst, true
}
