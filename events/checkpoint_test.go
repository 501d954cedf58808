package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// syncBuffer is a sink or log output shared with the writer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// waitLines returns the sink's lines once it has at least n: the sink is
// written by a goroutine of its own, after the events are written.
func (s *syncBuffer) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := bytes.Count(s.b.Bytes(), []byte{'\n'})
		s.mu.Unlock()
		if got >= n {
			return s.lines()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink has %d lines, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCheckpointOnCloseGoesToSinkAndLogger(t *testing.T) {
	var sink, logs syncBuffer
	dir := t.TempDir()
	l := openLog(t, dir, Options{Sink: &sink, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for i := 0; i < 3; i++ {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	waitWritten(t, l, 3)
	mac3 := entryMAC(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := sink.lines()
	if len(lines) != 4 || !strings.HasPrefix(lines[3], `{"type":"checkpoint","seq":3,"mac":"`+mac3+`","time":"`) {
		t.Fatalf("sink = %q, want 3 events and a checkpoint of evt_3", lines)
	}
	fromSink, err := ParseCheckpoint([]byte(lines[3]))
	if err != nil || fromSink.Seq != 3 || fromSink.MAC != mac3 {
		t.Fatalf("ParseCheckpoint(sink line) = %+v, %v, want seq 3 and mac of evt_3", fromSink, err)
	}
	var logLine string
	for _, line := range logs.lines() {
		if strings.Contains(line, `"msg":"event log checkpoint"`) {
			logLine = line
		}
	}
	var attrs struct {
		Level, Seq, MAC, Sig string
	}
	json.Unmarshal([]byte(strings.Replace(logLine, `"seq":3`, `"seq":"3"`, 1)), &attrs)
	if attrs.Level != "INFO" || attrs.Seq != "3" || attrs.MAC != mac3 || attrs.Sig != fromSink.Sig {
		t.Errorf("checkpoint log line = %s, want info with seq, mac and sig", logLine)
	}
	fromLog, err := ParseCheckpoint([]byte(logLine))
	if err != nil || fromLog.Seq != fromSink.Seq || fromLog.MAC != fromSink.MAC || !fromLog.Time.Equal(fromSink.Time) || fromLog.Sig != fromSink.Sig {
		t.Errorf("ParseCheckpoint(log line) = %+v, %v, want %+v", fromLog, err, fromSink)
	}
	ro, err := Open(dir, Options{MasterKey: testKey, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if res, err := ro.VerifyWith(VerifyOptions{Checkpoint: &fromSink, MinSeq: 3}); err != nil || !res.OK {
		t.Errorf("VerifyWith(its own checkpoint) = %+v, %v, want ok", res, err)
	}
}

func TestCheckpointEvery(t *testing.T) {
	var sink syncBuffer
	l := openLog(t, t.TempDir(), Options{Sink: &sink, CheckpointEvery: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer l.Close()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; n < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("sink = %q, want 2 checkpoints without writes or Close", sink.lines())
		}
		time.Sleep(time.Millisecond)
		n = strings.Count(strings.Join(sink.lines(), "\n"), `"type":"checkpoint"`)
	}
}

func TestCheckpointsOff(t *testing.T) {
	var sink syncBuffer
	l := openLog(t, t.TempDir(), Options{Sink: &sink, CheckpointEvery: -1})
	submit(l, "prj_a", "qk_a", 1, time.Unix(1e9, 0))
	l.Close()
	if lines := sink.lines(); len(lines) != 1 || strings.Contains(lines[0], "checkpoint") {
		t.Errorf("sink with checkpoints off = %q, want the event alone", lines)
	}
}

func TestParseCheckpointRejectsOtherLines(t *testing.T) {
	for _, line := range []string{
		``, `not json`, `{"id":"evt_1","type":"request"}`,
		`{"type":"checkpoint","seq":1,"mac":"zz","time":"2026-01-01T00:00:00Z","sig":"00"}`,
		`{"level":"INFO","msg":"event log retention","seq":1}`,
	} {
		if c, err := ParseCheckpoint([]byte(line)); !errors.Is(err, ErrNotCheckpoint) {
			t.Errorf("ParseCheckpoint(%q) = %+v, %v, want ErrNotCheckpoint", line, c, err)
		}
	}
}

func TestVerifyWithCheckpoint(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name string
		// change acts after a checkpoint at evt_10 of a log of 10 request
		// events (a copy of the head taken at evt_5 in h5) and returns
		// the options to verify with, and the log when it opened another.
		change func(t *testing.T, l *Log, cp Checkpoint, h5 []byte) (VerifyOptions, *Log)
		ok     bool
		err    error
	}{
		{"intact", func(_ *testing.T, _ *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			return VerifyOptions{Checkpoint: &cp}, nil
		}, true, nil},
		{"intact, more written since", func(t *testing.T, l *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			submit(l, "prj_a", "qk_a", 11, c.Now())
			waitWritten(t, l, 11)
			return VerifyOptions{Checkpoint: &cp, MinSeq: 11}, nil
		}, true, nil},
		{"tail cut, head rolled back to a signed one", func(t *testing.T, l *Log, cp Checkpoint, h5 []byte) (VerifyOptions, *Log) {
			tamper(t, l, rollBack(h5, 6, 10))
			if res, _ := l.Verify(); !res.OK {
				t.Fatalf("Verify after a rollback to a real head = %+v; this test expects the log alone to miss it", res)
			}
			return VerifyOptions{Checkpoint: &cp}, nil
		}, false, nil},
		{"tail cut, MinSeq from a checkpoint", func(t *testing.T, l *Log, cp Checkpoint, h5 []byte) (VerifyOptions, *Log) {
			tamper(t, l, rollBack(h5, 6, 10))
			return VerifyOptions{MinSeq: cp.Seq}, nil
		}, false, nil},
		{"forged signature", func(_ *testing.T, _ *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			cp.Seq = 2
			return VerifyOptions{Checkpoint: &cp}, nil
		}, false, ErrBadCheckpoint},
		{"forged time", func(_ *testing.T, _ *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			cp.Time = cp.Time.Add(time.Nanosecond)
			return VerifyOptions{Checkpoint: &cp}, nil
		}, false, ErrBadCheckpoint},
		{"log wiped and written anew", func(t *testing.T, l *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			tamper(t, l, func(tx *bolt.Tx) error {
				for _, b := range logBuckets {
					if err := tx.DeleteBucket(b); err != nil {
						return err
					}
				}
				return nil
			})
			dir := filepath.Dir(l.db.Path())
			l.Close()
			l = openLog(t, dir, Options{Now: c.Now})
			for i := 0; i < 12; i++ {
				submit(l, "prj_b", "qk_b", i, c.Now())
			}
			waitWritten(t, l, 12)
			return VerifyOptions{Checkpoint: &cp}, l
		}, false, nil},
		{"pruned before the anchor", func(t *testing.T, l *Log, cp Checkpoint, _ []byte) (VerifyOptions, *Log) {
			for i := 11; i <= 15; i++ {
				submit(l, "prj_a", "qk_a", i, c.Now())
			}
			waitWritten(t, l, 15)
			l.opts.MaxCount = 3
			if err := l.Prune(); err != nil {
				t.Fatal(err)
			}
			return VerifyOptions{Checkpoint: &cp}, nil
		}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), Options{Now: c.Now, BatchSize: 5, CheckpointEvery: -1})
			defer func() { l.Close() }()
			for i := 1; i <= 5; i++ {
				submit(l, "prj_a", "qk_a", i, c.Now())
			}
			waitWritten(t, l, 5)
			var h5 []byte
			l.db.View(func(tx *bolt.Tx) error { h5 = append(h5, tx.Bucket(bucketMeta).Get(metaHead)...); return nil })
			for i := 6; i <= 10; i++ {
				submit(l, "prj_a", "qk_a", i, c.Now())
			}
			waitWritten(t, l, 10)
			cp, err := l.Checkpoint()
			if err != nil || cp.Seq != 10 {
				t.Fatalf("Checkpoint() = %+v, %v, want seq 10", cp, err)
			}
			o, other := tc.change(t, l, cp, h5)
			if other != nil {
				l = other
			}
			res, err := l.VerifyWith(o)
			t.Logf("VerifyWith = %+v (%+v), %v", res, res.Broken, err)
			if !errors.Is(err, tc.err) || (tc.err == nil && res.OK != tc.ok) {
				t.Errorf("VerifyWith = %+v (%+v), %v, want ok %v, error %v", res, res.Broken, err, tc.ok, tc.err)
			}
		})
	}
}

// rollBack deletes entries from..to and puts back an older head record.
func rollBack(oldHead []byte, from, to uint64) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		if err := cutTail(from, to)(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaHead, oldHead)
	}
}
