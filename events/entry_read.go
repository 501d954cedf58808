package events

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// stored is one entry as read back: its links and the members of its
// event that verification and retention look at.
type stored struct {
	entry
	id string // evt_<seq of its key>
	ev struct {
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
	en.id = "evt_" + strconv.FormatUint(seq, 10)
	switch {
	case json.Unmarshal(v, &en.entry) != nil || json.Unmarshal(en.Event, &en.ev) != nil:
		return en, "entry is unreadable"
	case !canonical(v, en.entry):
		return en, "entry was changed (not in the form it was written in)"
	case en.Seq != seq || en.ev.ID != en.id:
		return en, "entry was moved"
	}
	return en, ""
}

// macOK reports whether the entry's mac is its chain link.
func (l *Log) macOK(en stored) bool {
	prev, _ := hex.DecodeString(en.Prev)
	return hmac.Equal([]byte(en.MAC), []byte(hex.EncodeToString(l.mac(prev, en.Seq, en.Event))))
}

func (en *stored) failure() bool { return isFailure(en.ev.Type, en.ev.Status) }

// canonical reports whether v is exactly how en is written, so that no
// byte of a stored entry can change without Verify noticing.
func canonical(v []byte, en entry) bool {
	b, err := json.Marshal(en)
	return err == nil && bytes.Equal(b, v)
}
