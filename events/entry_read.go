package events

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// stored is one entry as read back: its links and the members of its
// event that verification and retention look at.
type stored struct {
	entry
	id    string // evt_<seq of its key>
	short bool   // a binary entry with a 16-byte tag: MAC holds 32 hex digits, not 64
	nanos int64  // a request record's time (Unix nanoseconds); ev.Time otherwise
	timed bool   // nanos is set
	ev    struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Time    string `json:"time"` // parsed only by retention
		Status  int    `json:"status"`
		Project string `json:"project_id"`
		KeyID   string `json:"key_id"`
	}
}

// readEntry decodes entry v, found where entry seq is, and checks what
// needs no key: that it reads, is byte for byte as it was written, and
// is entry seq. reason says what failed, or is "".
func readEntry(seq uint64, v []byte) (en stored, reason string) {
	if isBinEntry(v) {
		return readBinEntry(seq, v)
	}
	if quickEntry(seq, v, &en) {
		return en, ""
	}
	en = stored{}
	en.id = "evt_" + strconv.FormatUint(seq, 10)
	switch {
	case jsonEntry(v, &en) != nil:
		return en, "entry is unreadable"
	case !canonical(v, en.entry):
		return en, "entry was changed (not in the form it was written in)"
	case en.Seq != seq || en.ev.ID != en.id:
		return en, "entry was moved"
	}
	return en, ""
}

// jsonEntry decodes entry v into en with encoding/json.
func jsonEntry(v []byte, en *stored) error {
	if err := json.Unmarshal(v, &en.entry); err != nil {
		return err
	}
	return json.Unmarshal(en.Event, &en.ev)
}

// macOK reports whether the entry's mac is its chain link.
func (l *Log) macOK(en stored) bool {
	var buf [2 * sha256.Size]byte
	prev, err := hex.AppendDecode(buf[:0], []byte(en.Prev))
	if err != nil {
		return false
	}
	m, _ := l.readMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, l.keys.chain)
	}
	var sum [sha256.Size]byte
	mac := chainMAC(m, prev, en.Seq, en.Event, sum[:0])
	l.readMACs.Put(m)
	want := hex.AppendEncode(buf[:0], mac)
	if en.short {
		want = want[:2*tagSize]
	}
	return hmac.Equal([]byte(en.MAC), want)
}

func (en *stored) failure() bool { return isFailure(en.ev.Type, en.ev.Status) }

// canonical reports whether v is exactly how en is written, so that no
// byte of a stored entry can change without Verify noticing.
func canonical(v []byte, en entry) bool {
	b, err := json.Marshal(en)
	return err == nil && bytes.Equal(b, v)
}

// quickEntry reads entry v as readEntry does, without encoding/json (a
// tenth of the time: verification and retention read every entry), and
// reports whether it could. It accepts only an entry exactly in the form
// the writer gives it (appendEntry) around a valid JSON event with an
// id, a type and a time; for anything else readEntry takes the slow
// path, which names what is wrong. Bytes of the event it does not look
// at are still covered by the entry's mac.
func quickEntry(seq uint64, v []byte, en *stored) bool {
	rest, ok := bytes.CutPrefix(v, []byte(`{"seq":`))
	if !ok {
		return false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || (rest[0] == '0' && i > 1) {
		return false
	}
	n, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil || n != seq {
		return false
	}
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"prev":"`))
	if !ok {
		return false
	}
	prev, rest, ok := cutHex(rest, true)
	if !ok {
		return false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`","mac":"`)); !ok {
		return false
	}
	mac, rest, ok := cutHex(rest, false)
	if !ok {
		return false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`","event":`)); !ok || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return false
	}
	event := rest[:len(rest)-1]
	if !jsonMembers(event, en) {
		return false
	}
	en.Seq, en.Prev, en.MAC, en.Event = n, string(prev), string(mac), event
	en.id = "evt_" + strconv.FormatUint(seq, 10)
	return en.ev.ID == en.id
}

// jsonMembers reads the members of JSON event that en.ev holds and
// reports whether it could: valid JSON, an object with an id, a type, a
// time, a project and, when present, a numeric status and a key id.
func jsonMembers(event []byte, en *stored) bool {
	if !gjson.ValidBytes(event) || event[0] != '{' {
		return false
	}
	// One pass over the event's members (GetMany would scan it once per
	// name, and status comes late in a request event).
	var id, typ, tm, status, project, key gjson.Result
	gjson.ParseBytes(event).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "type":
			typ = v
		case "time":
			tm = v
		case "status":
			status = v
		case "project_id":
			project = v
		case "key_id":
			key = v
		}
		return true
	})
	if id.Type != gjson.String || typ.Type != gjson.String || tm.Type != gjson.String || project.Type != gjson.String ||
		(status.Exists() && status.Type != gjson.Number) || (key.Exists() && key.Type != gjson.String && key.Type != gjson.Null) {
		return false
	}
	en.ev.ID, en.ev.Type, en.ev.Time = id.Str, typ.Str, tm.Str
	en.ev.Status, en.ev.Project, en.ev.KeyID = int(status.Int()), project.Str, key.Str
	return float64(en.ev.Status) == status.Num
}

// readBinEntry is readEntry of a binary entry. Its seq, links and event
// bytes have a single form; the event is a request record or an event's
// JSON, whose id must be the entry's.
func readBinEntry(seq uint64, v []byte) (en stored, reason string) {
	en.id = "evt_" + strconv.FormatUint(seq, 10)
	n, prev, mac, event, ok := parseBinEntry(v)
	if !ok {
		return en, "entry is unreadable"
	}
	en.Seq, en.Prev, en.MAC, en.Event = n, hex.EncodeToString(prev), hex.EncodeToString(mac), event
	en.short = v[0] == entryShort
	if isRecord(event) {
		var d decoded
		if decodeRecord(event, &d) != nil {
			return en, "entry is unreadable"
		}
		en.ev.ID, en.ev.Type, en.ev.Time = en.id, TypeRequest, string(appendTime(nil, d.Time))
		en.nanos, en.timed = d.Time.UnixNano(), true
		en.ev.Status, en.ev.Project, en.ev.KeyID = d.Status, d.ProjectID, d.KeyID
	} else if !jsonMembers(event, &en) {
		return en, "entry is unreadable"
	}
	if en.Seq != seq || en.ev.ID != en.id {
		return en, "entry was moved"
	}
	return en, ""
}

// cutHex cuts a mac in lowercase hex (64 digits, or none when empty is
// true) off the start of b, up to the closing quote.
func cutHex(b []byte, empty bool) (h, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 || (i != 64 && !(empty && i == 0)) {
		return nil, nil, false
	}
	for _, c := range b[:i] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, nil, false
		}
	}
	return b[:i], b[i:], true
}

// unixNanos is the entry's time as the index holds it; ok is false when
// its time does not read.
func (en *stored) unixNanos() (int64, bool) {
	if en.timed {
		return en.nanos, true
	}
	t, err := time.Parse(time.RFC3339Nano, en.ev.Time)
	return t.UnixNano(), err == nil
}
