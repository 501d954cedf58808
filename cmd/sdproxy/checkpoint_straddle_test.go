package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLastCheckpointLineAcrossABlock: lastCheckpointLine reads the file
// backwards 64 KiB at a time; a checkpoint line that straddles a block
// boundary is still the one found, whatever byte of it the boundary cuts
// (the part of the line carried to the next, earlier, block must not be
// the read buffer itself, which that read overwrites), and not an older
// checkpoint further up.
func TestLastCheckpointLineAcrossABlock(t *testing.T) {
	const block = 64 << 10
	older, last := checkpointLineFor(1), checkpointLineFor(2)
	for _, cut := range []int{1, 10, len(last) / 2, len(last) - 1} {
		// From cut bytes into last to the end of the file: one block.
		after := block - (len(last) - cut) - 1
		content := older + "\n" + strings.Repeat("x", 3*block) + "\n" + last + "\n" + strings.Repeat("y", after-1) + "\n"
		file := filepath.Join(t.TempDir(), "sink")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := lastCheckpointLine(file)
		if err != nil || got != last {
			t.Errorf("block boundary %d bytes into the last checkpoint: lastCheckpointLine = %.40q…, %v; want the last checkpoint", cut, got, err)
		}
	}
}
