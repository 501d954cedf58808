package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// checkpointLineFor is a sink checkpoint line of seq (its form only: the
// signature is checked by verify, not here).
func checkpointLineFor(seq int) string {
	return fmt.Sprintf(`{"type":"checkpoint","seq":%d,"mac":"%s","time":"2026-11-25T22:56:00Z","sig":"%s"}`,
		seq, strings.Repeat("ab", 16), strings.Repeat("cd", 32))
}

// TestCheckpointFileOfALargeSink: --checkpoint-file names the events
// sink's file, which grows by a line per event (gigabytes a day on a busy
// proxy) and whose last checkpoint is at most a minute of lines from its
// end. Finding it must not read the whole file into memory (twice).
func TestCheckpointFileOfALargeSink(t *testing.T) {
	event := `{"id":"evt_1","type":"request","time":"2026-11-25T22:55:30.936Z","project_id":"prj_eg28564v8j6u","key_id":"qk_f6cjjsqamcui","method":"POST","path":"/proxy/prj_eg28564v8j6u/posts","mode":"encrypt","fields":["title","body"],"status":201,"latency_ms":5.19,"request_id":"req_021b80ac-1","client_ip":"10.1.2.3","rate_limited":false}` + "\n"
	var b bytes.Buffer
	b.WriteString(checkpointLineFor(1) + "\n")
	for b.Len() < 48<<20 {
		b.WriteString(event)
	}
	b.WriteString(checkpointLineFor(2) + "\n")
	for range 1000 {
		b.WriteString(event)
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b = bytes.Buffer{}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	line, err := lastCheckpointLine(file)
	runtime.ReadMemStats(&after)
	if err != nil || line != checkpointLineFor(2) {
		t.Fatalf("lastCheckpointLine = %q, %v; want the second checkpoint", line, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("finding the last checkpoint of a 48 MiB sink file allocated %d MiB, want it read from the end", alloc>>20)
	}
}

// TestLastCheckpointLine: the last line that reads as a checkpoint,
// whatever surrounds it.
func TestLastCheckpointLine(t *testing.T) {
	long := `{"id":"evt_9","type":"request","path":"/` + strings.Repeat("p", 200<<10) + `"}`
	for _, tc := range []struct {
		name, content, want string
	}{
		{"last line, no newline", "x\n" + checkpointLineFor(1) + "\n" + checkpointLineFor(2), checkpointLineFor(2)},
		{"CRLF and spaces", checkpointLineFor(1) + "\r\n  " + checkpointLineFor(3) + "  \r\nx\r\n", checkpointLineFor(3)},
		{"first line only", checkpointLineFor(4) + "\n" + strings.Repeat("x\n", 100000), checkpointLineFor(4)},
		{"after a long line", checkpointLineFor(5) + "\n" + long + "\n", checkpointLineFor(5)},
		{"before a long line", long + "\n" + checkpointLineFor(6) + "\n" + long, checkpointLineFor(6)},
		{"not a checkpoint after", checkpointLineFor(7) + "\n" + `{"type":"checkpoint","seq":8}` + "\n", checkpointLineFor(7)},
		{"a JSON log line", `{"time":"2026-11-25T22:56:00Z","level":"INFO","msg":"event log checkpoint","seq":9,"mac":"` + strings.Repeat("ab", 16) + `","checkpoint_time":"2026-11-25T22:56:00Z","sig":"` + strings.Repeat("cd", 32) + `"}` + "\n",
			`{"time":"2026-11-25T22:56:00Z","level":"INFO","msg":"event log checkpoint","seq":9,"mac":"` + strings.Repeat("ab", 16) + `","checkpoint_time":"2026-11-25T22:56:00Z","sig":"` + strings.Repeat("cd", 32) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "sink")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := lastCheckpointLine(file); err != nil || got != tc.want {
				t.Errorf("lastCheckpointLine = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "sink")
	if err := os.WriteFile(file, []byte("x\ny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := lastCheckpointLine(file); err == nil {
		t.Errorf("lastCheckpointLine of a file without checkpoint = %q, want an error", got)
	}
}
