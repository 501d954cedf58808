package events

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checkpoint is a signed statement that the chain reached entry Seq, whose
// mac was MAC, at Time. The writer emits one every
// Options.CheckpointEvery and on Close, to the sink as the line
//
//	{"type":"checkpoint","seq":N,"mac":"…","time":"…","sig":"…"}
//
// and to the Logger (msg "event log checkpoint"). Kept outside the data
// directory (by a SIEM), checkpoints find what the log alone cannot: a
// cut tail with a head rolled back to an earlier one, or a log wiped and
// begun anew (VerifyWith). They hold no secret: the mac is the chain's
// and Sig an HMAC under a key derived from the master key.
type Checkpoint struct {
	Seq  uint64    `json:"seq"`
	MAC  string    `json:"mac"`
	Time time.Time `json:"time"`
	Sig  string    `json:"sig"`
}

// checkpointSig is HMAC(checkpoint key, seq as 8 bytes BE || mac || "|"
// || time as Unix nanoseconds, 8 bytes BE).
func (l *Log) checkpointSig(c Checkpoint) string {
	m := hmac.New(sha256.New, l.keys.checkpoint)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.Seq)
	m.Write(b[:])
	m.Write([]byte(c.MAC + "|"))
	binary.BigEndian.PutUint64(b[:], uint64(c.Time.UnixNano()))
	m.Write(b[:])
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Log) checkpointOK(c Checkpoint) bool {
	return hmac.Equal([]byte(c.Sig), []byte(l.checkpointSig(c)))
}

// Checkpoint returns a checkpoint of the log as it is now, signed. It
// fails when the head record is missing, unsigned or fails its signature:
// a checkpoint never vouches for a head it cannot trust.
func (l *Log) Checkpoint() (Checkpoint, error) {
	var h head
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errNoHead
		}
		h, err = l.loadHead(meta)
		return err
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("events.Checkpoint: %w", err)
	}
	c := Checkpoint{Seq: h.Seq, MAC: h.MAC, Time: l.opts.Now().UTC()}
	c.Sig = l.checkpointSig(c)
	return c, nil
}

// checkpointLine is a checkpoint as a sink line.
type checkpointLine struct {
	Type string `json:"type"`
	Checkpoint
}

// emitCheckpoint writes a checkpoint to the sink and the logger.
func (l *Log) emitCheckpoint() {
	c, err := l.Checkpoint()
	if err != nil {
		l.opts.Logger.Error("event log checkpoint failed", "err", err)
		return
	}
	if l.opts.Sink != nil {
		b, _ := json.Marshal(checkpointLine{Type: "checkpoint", Checkpoint: c})
		l.cpbuf = append(append(l.cpbuf[:0], b...), '\n')
		l.toSink(l.cpbuf)
	}
	l.opts.Logger.Info("event log checkpoint", "seq", c.Seq, "mac", c.MAC,
		"checkpoint_time", c.Time.Format(time.RFC3339Nano), "sig", c.Sig)
}

// ParseCheckpoint reads a checkpoint from a sink line, or from a line of
// the Logger's output in JSON (slog.JSONHandler: msg "event log
// checkpoint", its time in checkpoint_time). It checks the form only;
// VerifyWith checks the signature.
func ParseCheckpoint(line []byte) (Checkpoint, error) {
	var v struct {
		checkpointLine
		Msg            string     `json:"msg"`
		CheckpointTime *time.Time `json:"checkpoint_time"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(line), &v); err != nil {
		return Checkpoint{}, fmt.Errorf("events.ParseCheckpoint: %w: %w", ErrNotCheckpoint, err)
	}
	c := v.Checkpoint
	if v.Msg == "event log checkpoint" && v.CheckpointTime != nil {
		v.Type, c.Time = "checkpoint", *v.CheckpointTime
	}
	if v.Type != "checkpoint" || !isHex(c.MAC, tagSize) && !isHex(c.MAC, sha256.Size) || !isHex(c.Sig, sha256.Size) {
		return Checkpoint{}, fmt.Errorf("events.ParseCheckpoint: %w", ErrNotCheckpoint)
	}
	return c, nil
}

// isHex reports whether s is n bytes in hex: a MAC (32), or an
// entry's tag (16).
func isHex(s string, n int) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == n
}
