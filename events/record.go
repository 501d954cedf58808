package events

import (
	"encoding/binary"
	"errors"
	"hash"
	"math"
	"time"
)

// Binary entries. Blocks written since the binary format (see
// docs/events.md, "File format") hold entries in binary rather than as
// JSON lines: a request event is a compact record instead of its JSON,
// and the links are 32 raw bytes instead of 64 hex digits. Encoding the
// JSON, the hex and the MAC over JSON was most of the writer's cost per
// event; the JSON is rendered from the record when it is read, by the
// same code that wrote it before (appendRequest), so readers see the
// same event.
//
// A binary block is blockBinary followed by its entries, each as
// uvarint(length) and the entry:
//
//	entryShort
//	len(prev)     1 byte: 16; 32 for entry 1 (it links to 32 zero bytes)
//	              and the first entry after entries of the earlier form;
//	              or 0 (a chain that starts at nothing)
//	tag           16 bytes: HMAC-SHA256(chain key, prev || seq || event)
//	              cut to its first 16 bytes (HMAC-SHA-256-128)
//	prev          the previous entry's tag (or mac)
//	seq           8 bytes big-endian
//	event         the rest: a request record (first byte recRequest),
//	              or any other event as its JSON (first byte '{')
//
// so that what the tag covers is the entry's tail, hashed in one piece.
// Entries of the earlier binary form start with entryBinary and hold
// the whole 32-byte mac (and a prev of 0 or 32 bytes): blocks written
// before keep them, and the chain goes on from the last one's mac. A
// 16-byte tag is the standard truncation (RFC 4868; forging one is a
// 2^-128 guess) and halves the random bytes each entry stores, which
// no compression shrinks: with the prev and one SHA-256 block less to
// hash, about 6 % of the writer's transaction per event, and a file a
// seventh smaller.
//
// A request record is written compact (recCompact), or, when one of its
// numbers is negative (or past 2^31-1), in the full form (recRequest), which records
// written before the compact form also have.
//
// The full form: recRequest, the time as 8 bytes big-endian Unix
// nanoseconds, varints of the status, the latency and upstream time in
// microseconds and the three value counts, a flags byte (bit 0:
// rate_limited) and then 15 strings, each uvarint(length) and its bytes:
// instance_id, project_id, key_id ("" when the key did not
// authenticate: null), method, path, mode, fields (the stored names,
// comma-separated), classification, destination, geofence, request_id,
// client_ip, route_id, response_fields (as fields) and subject.
//
// The compact form holds the same in fewer bytes: recCompact, the time
// as in the full form, uvarints of the six numbers, a flags byte (bit 0:
// rate_limited; bit 1: the path is under /proxy/<project_id>, which is
// left out), the method's code and the mode's code (recMethods,
// recModes; 0: none, or written out), a uvarint whose bit i says that
// string i of the full form's 15 is there, and the strings that are
// there, each uvarint(length) and its bytes (never empty; the method and
// mode only when their code is 0). Every request has a single compact
// record: one spelled another way (a coded method written out, a path
// under /proxy/<project_id> written whole, an empty string said to be
// there) does not read. The tag's input is what costs per event: a
// typical request's record is about 120 bytes compact and 160 in full,
// and with the prev and seq that is three SHA-256 blocks instead of four.
const (
	blockBinary = 0x01 // first byte of a binary block (a JSON block starts with '{')
	entryBinary = 0x01 // first byte of a binary entry with a 32-byte mac (written before short tags)
	entryShort  = 0x02 // first byte of a binary entry with a 16-byte tag, as written now
	recRequest  = 0x01 // first byte of a request record in the full form
	recCompact  = 0x02 // first byte of a compact request record, as written now
)

// recMethods and recModes are the codes of the compact record: a value's
// index (never 0). Codes are never renumbered; new ones go at the end.
var (
	recMethods = [...]string{1: "GET", 2: "POST", 3: "PUT", 4: "PATCH", 5: "DELETE", 6: "HEAD", 7: "OPTIONS"}
	recModes   = [...]string{1: "encrypt", 2: "decrypt"}
)

// isRecord reports whether an entry's event is a request record (of
// either form) rather than an event's JSON.
func isRecord(event []byte) bool {
	return len(event) > 0 && (event[0] == recRequest || event[0] == recCompact)
}

// tagSize is the length of an entryShort entry's tag.
const tagSize = 16

// appendBinEntry appends the binary entry of seq to b, and its tag, by
// m, in place (the whole mac when long, as entries were written before
// short tags: for tests of logs that hold both).
func appendBinEntry(m hash.Hash, b []byte, seq uint64, prev, event []byte, long bool) []byte {
	b, at := beginBinEntry(b, seq, prev, long)
	return endBinEntry(m, append(b, event...), at)
}

// beginBinEntry appends the start of the binary entry of seq to b: all
// but the event, which the caller appends next, and the tag, which
// endBinEntry(m, b, at) then writes in its place.
func beginBinEntry(b []byte, seq uint64, prev []byte, long bool) (_ []byte, at int) {
	form := byte(entryShort)
	if long {
		form = entryBinary
	}
	at = len(b)
	b = append(b, form, byte(len(prev)))
	b = append(b, zeroMAC[:macLen(form)]...)
	b = append(b, prev...)
	return binary.BigEndian.AppendUint64(b, seq), at
}

// endBinEntry writes the tag of the entry that begins at b[at] and ends
// b: the HMAC, by m, of its tail (prev, seq and event), hashed in place.
func endBinEntry(m hash.Hash, b []byte, at int) []byte {
	n := macLen(b[at])
	m.Reset()
	m.Write(b[at+2+n:])
	end := len(b)
	b = m.Sum(b) // past the end, then the tag copied to its place
	copy(b[at+2:at+2+n], b[end:])
	return b[:end]
}

var zeroMAC [macSize]byte

// isBinEntry reports whether an entry is binary (of either form) rather
// than a JSON line.
func isBinEntry(v []byte) bool { return len(v) > 0 && macLen(v[0]) != 0 }

// macLen is the length of the mac a binary entry of form (its first
// byte) holds, 0 when form is none.
func macLen(form byte) int {
	switch form {
	case entryShort:
		return tagSize
	case entryBinary:
		return macSize
	}
	return 0
}

// binEntryMAC is the mac (or tag) of e, a binary entry as written.
func binEntryMAC(e []byte) []byte { return e[2 : 2+macLen(e[0])] }

// parseBinEntry splits binary entry v; ok is false when it is not one.
// mac is its tag (16 bytes) or, in an entry of the earlier form, its
// mac (32 bytes).
func parseBinEntry(v []byte) (seq uint64, prev, mac, event []byte, ok bool) {
	if len(v) < 2 || macLen(v[0]) == 0 {
		return 0, nil, nil, nil, false
	}
	m, n := macLen(v[0]), int(v[1])
	if !(n == 0 || n == macSize || n == tagSize && m == tagSize) || len(v) < 2+m+n+8+1 {
		return 0, nil, nil, nil, false
	}
	mac = v[2 : 2+m]
	prev = v[2+m : 2+m+n]
	seq = binary.BigEndian.Uint64(v[2+m+n:])
	return seq, prev, mac, v[2+m+n+8:], true
}

const macSize = 32

// appendBlockLine appends one entry to a block's decompressed bytes: to
// a binary block (bin) the entry with its length, the block starting with
// blockBinary; to a block of JSON lines the line and its '\n'.
func appendBlockLine(block, line []byte, bin bool) []byte {
	if bin {
		if len(block) == 0 {
			block = append(block, blockBinary)
		}
		block = binary.AppendUvarint(block, uint64(len(line)))
		return append(block, line...)
	}
	return append(append(block, line...), '\n')
}

// isBinaryBlock reports whether a block's decompressed bytes are binary.
func isBinaryBlock(block []byte) bool { return len(block) > 0 && block[0] == blockBinary }

// recordable reports whether a request's time fits a record (Unix
// nanoseconds in an int64: years 1679 to 2261 in UTC, inside that range);
// other requests are stored as JSON. Two comparisons, not Year's date
// arithmetic: it runs for every event.
func recordable(r *Request) bool {
	return !r.Time.Before(firstRecordable) && r.Time.Before(pastRecordable)
}

var (
	firstRecordable = time.Date(1679, 1, 1, 0, 0, 0, 0, time.UTC)
	pastRecordable  = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// appendRecord appends the request record of r, recorded by instance
// inst: compact, unless one of its numbers is negative (or past 2^31-1).
func appendRecord(b []byte, inst string, r *Request) []byte {
	lat, up := r.Latency.Microseconds(), r.Upstream.Microseconds()
	if !fitsCompact(r.Status) || lat < 0 || up < 0 || !fitsCompact(r.RequestValues) ||
		!fitsCompact(r.ResponseValues) || !fitsCompact(r.Untransformed) {
		return appendFullRecord(b, inst, r)
	}
	b = append(b, recCompact)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = binary.AppendUvarint(b, uint64(r.Status))
	b = binary.AppendUvarint(b, uint64(lat))
	b = binary.AppendUvarint(b, uint64(up))
	b = binary.AppendUvarint(b, uint64(r.RequestValues))
	b = binary.AppendUvarint(b, uint64(r.ResponseValues))
	b = binary.AppendUvarint(b, uint64(r.Untransformed))
	var flags byte
	if r.RateLimited {
		flags |= 1
	}
	path := r.path
	if rest, ok := underProject(path, r.ProjectID); ok {
		flags |= 2
		path = rest
	}
	method, mode := r.method, r.Mode
	mc, oc := recCode(recMethods[:], method), recCode(recModes[:], mode)
	if mc != 0 {
		method = nil
	}
	if oc != 0 {
		mode = ""
	}
	b = append(b, flags, mc, oc)
	p := there(inst, 0) | there(r.ProjectID, 1) | there(r.KeyID, 2) | there(method, 3) | there(path, 4) |
		there(mode, 5) | there(r.fields, 6) | there(r.class, 7) | there(r.dest, 8) | there(r.geofence, 9) |
		there(r.requestID, 10) | there(r.clientIP, 11) | there(r.RouteID, 12) | there(r.respFields, 13) |
		there(r.subject, 14)
	b = binary.AppendUvarint(b, uint64(p))
	b = appendThere(b, inst)
	b = appendThere(b, r.ProjectID)
	b = appendThere(b, r.KeyID)
	b = appendThere(b, method)
	b = appendThere(b, path)
	b = appendThere(b, mode)
	b = appendThere(b, r.fields)
	b = appendThere(b, r.class)
	b = appendThere(b, r.dest)
	b = appendThere(b, r.geofence)
	b = appendThere(b, r.requestID)
	b = appendThere(b, r.clientIP)
	b = appendThere(b, r.RouteID)
	b = appendThere(b, r.respFields)
	return appendThere(b, r.subject)
}

// fitsCompact reports whether n is a number a compact record holds.
func fitsCompact(n int) bool { return n >= 0 && n <= math.MaxInt32 }

// proxyPrefix starts the path of a request to a project's upstream.
const proxyPrefix = "/proxy/"

// underProject returns what follows /proxy/<project> in path, when path
// is that and nothing more or goes on with '/'.
func underProject(path []byte, project string) ([]byte, bool) {
	n := len(proxyPrefix) + len(project)
	if project == "" || len(path) < n || string(path[:len(proxyPrefix)]) != proxyPrefix ||
		string(path[len(proxyPrefix):n]) != project || len(path) > n && path[n] != '/' {
		return nil, false
	}
	return path[n:], true
}

// recCode is the code of v in codes, 0 when it has none.
func recCode[S ~string | ~[]byte](codes []string, v S) byte {
	for i := 1; i < len(codes); i++ {
		if string(v) == codes[i] {
			return byte(i)
		}
	}
	return 0
}

// there is bit i when s is not empty.
func there[S ~string | ~[]byte](s S, i uint) uint32 {
	if len(s) == 0 {
		return 0
	}
	return 1 << i
}

// appendThere appends s as appendStr does when it is not empty.
func appendThere[S ~string | ~[]byte](b []byte, s S) []byte {
	if len(s) == 0 {
		return b
	}
	return appendStr(b, s)
}

// appendFullRecord appends the request record of r in the full form.
func appendFullRecord(b []byte, inst string, r *Request) []byte {
	b = append(b, recRequest)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = binary.AppendVarint(b, int64(r.Status))
	b = binary.AppendVarint(b, r.Latency.Microseconds())
	b = binary.AppendVarint(b, r.Upstream.Microseconds())
	b = binary.AppendVarint(b, int64(r.RequestValues))
	b = binary.AppendVarint(b, int64(r.ResponseValues))
	b = binary.AppendVarint(b, int64(r.Untransformed))
	var flags byte
	if r.RateLimited {
		flags |= 1
	}
	b = append(b, flags)
	b = appendStr(b, inst)
	b = appendStr(b, r.ProjectID)
	b = appendStr(b, r.KeyID)
	b = appendStr(b, r.method)
	b = appendStr(b, r.path)
	b = appendStr(b, r.Mode)
	b = appendStr(b, r.fields)
	b = appendStr(b, r.class)
	b = appendStr(b, r.dest)
	b = appendStr(b, r.geofence)
	b = appendStr(b, r.requestID)
	b = appendStr(b, r.clientIP)
	b = appendStr(b, r.RouteID)
	b = appendStr(b, r.respFields)
	return appendStr(b, r.subject)
}

func appendStr[S ~string | ~[]byte](b []byte, s S) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errRecord = errors.New("request record does not read")

// decoded is a request record read back: the request and the instance
// that recorded it.
type decoded struct {
	Request
	inst string
}

// decodeRecord reads request record v, of either form, into d; it
// accepts only a record exactly as appendRecord (or, for the full form,
// appendFullRecord) writes it, every byte used.
func decodeRecord(v []byte, d *decoded) error {
	if len(v) >= 9 && v[0] == recCompact {
		return decodeCompact(v, d)
	}
	if len(v) < 9 || v[0] != recRequest {
		return errRecord
	}
	rd := recReader{b: v[9:]}
	d.Request = Request{Time: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).UTC()}
	r := &d.Request
	r.Status = int(rd.varint())
	r.Latency = time.Duration(rd.varint()) * time.Microsecond
	r.Upstream = time.Duration(rd.varint()) * time.Microsecond
	r.RequestValues, r.ResponseValues, r.Untransformed = int(rd.varint()), int(rd.varint()), int(rd.varint())
	flags := rd.byte()
	r.RateLimited = flags&1 != 0
	d.inst = string(rd.str())
	r.ProjectID, r.KeyID = string(rd.str()), string(rd.str())
	r.method, r.path, r.Mode = rd.str(), rd.str(), string(rd.str())
	r.fields, r.class, r.dest, r.geofence = rd.str(), rd.str(), rd.str(), rd.str()
	r.requestID, r.clientIP, r.RouteID = rd.str(), rd.str(), string(rd.str())
	r.respFields, r.subject = rd.str(), rd.str()
	if rd.bad || len(rd.b) != 0 || flags&^1 != 0 {
		return errRecord
	}
	return nil
}

// decodeCompact is decodeRecord of a compact record.
func decodeCompact(v []byte, d *decoded) error {
	rd := recReader{b: v[9:]}
	d.Request = Request{Time: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).UTC()}
	r := &d.Request
	r.Status = int(rd.uvarint(math.MaxInt32))
	r.Latency = time.Duration(rd.uvarint(maxMicros)) * time.Microsecond
	r.Upstream = time.Duration(rd.uvarint(maxMicros)) * time.Microsecond
	r.RequestValues, r.ResponseValues, r.Untransformed = int(rd.uvarint(math.MaxInt32)), int(rd.uvarint(math.MaxInt32)), int(rd.uvarint(math.MaxInt32))
	flags, mc, oc := rd.byte(), rd.byte(), rd.byte()
	p := rd.uvarint(1<<15 - 1)
	str := func(i uint) []byte {
		if p&(1<<i) == 0 {
			return nil
		}
		s := rd.str()
		if len(s) == 0 {
			rd.bad = true
		}
		return s
	}
	r.RateLimited = flags&1 != 0
	d.inst = string(str(0))
	r.ProjectID, r.KeyID = string(str(1)), string(str(2))
	method, path, mode := str(3), str(4), str(5)
	r.fields, r.class, r.dest, r.geofence = str(6), str(7), str(8), str(9)
	r.requestID, r.clientIP, r.RouteID = str(10), str(11), string(str(12))
	r.respFields, r.subject = str(13), str(14)
	if rd.bad || len(rd.b) != 0 || flags&^3 != 0 || int(mc) >= len(recMethods) || int(oc) >= len(recModes) {
		return errRecord
	}
	// One spelling only: a code where there is one, a path under the
	// project's only without its prefix.
	switch {
	case mc != 0 && method != nil, mc == 0 && recCode(recMethods[:], method) != 0:
		return errRecord
	case oc != 0 && mode != nil, oc == 0 && recCode(recModes[:], mode) != 0:
		return errRecord
	}
	r.method, r.Mode = method, string(mode)
	if mc != 0 {
		r.method = []byte(recMethods[mc])
	}
	if oc != 0 {
		r.Mode = recModes[oc]
	}
	if flags&2 != 0 {
		if r.ProjectID == "" || len(path) > 0 && path[0] != '/' {
			return errRecord
		}
		path = append(append([]byte(proxyPrefix), r.ProjectID...), path...)
	} else if _, under := underProject(path, r.ProjectID); under {
		return errRecord
	}
	r.path = path
	return nil
}

// maxMicros bounds a compact record's durations, in microseconds, to
// what a time.Duration holds.
const maxMicros = math.MaxInt64 / int64(time.Microsecond)

// recReader reads a record's parts; bad is set at the first that does
// not read, and every later read returns zero.
type recReader struct {
	b   []byte
	bad bool
}

func (rd *recReader) varint() int64 {
	v, n := binary.Varint(rd.b)
	if n <= 0 || rd.bad {
		rd.bad = true
		return 0
	}
	rd.b = rd.b[n:]
	return v
}

// uvarint reads a uvarint of at most max.
func (rd *recReader) uvarint(max int64) int64 {
	v, n := minUvarint(rd.b)
	if n <= 0 || v > uint64(max) || rd.bad {
		rd.bad = true
		return 0
	}
	rd.b = rd.b[n:]
	return int64(v)
}

// minUvarint is binary.Uvarint of a uvarint written in as few bytes as
// it takes, as binary.AppendUvarint writes them; a longer spelling
// (ending in a zero byte) does not read (k is 0).
func minUvarint(b []byte) (v uint64, k int) {
	v, k = binary.Uvarint(b)
	if k > 1 && b[k-1] == 0 {
		return 0, 0
	}
	return v, k
}

func (rd *recReader) byte() byte {
	if len(rd.b) == 0 || rd.bad {
		rd.bad = true
		return 0
	}
	c := rd.b[0]
	rd.b = rd.b[1:]
	return c
}

func (rd *recReader) str() []byte {
	n, k := minUvarint(rd.b)
	if k <= 0 || n > uint64(len(rd.b)-k) || rd.bad {
		rd.bad = true
		return nil
	}
	s := rd.b[k : k+int(n) : k+int(n)]
	rd.b = rd.b[k+int(n):]
	return s
}
