package fieldcrypt

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/golden")

// goldenSep separates the parts of a golden file: input JSON, field list,
// expected output.
const goldenSep = "\n----\n"

// TestGolden encrypts each testdata/golden/*.txt input with a fixed key and
// a deterministic nonce source and compares with the expected output; then
// decrypts the expected output back to the input. Files named bound_*.txt
// are encrypted with Params.BindFields. Run with -update to rewrite the
// expected outputs.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runGolden(t, file) })
	}
}

func runGolden(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(data), goldenSep, 3)
	if len(parts) != 3 {
		t.Fatalf("%s: want input, field list and output separated by %q", file, goldenSep)
	}
	input, f, want := parts[0], mustFields(t, parts[1]), strings.TrimSuffix(parts[2], "\n")
	p := &Params{ProjectID: "proj_golden", Classification: "pii", Keys: newTestKeyring(t, 3), Rand: detRand(42),
		BindFields: strings.HasPrefix(filepath.Base(file), "bound_")}
	got, err := Encrypt(nil, []byte(input), f, p)
	if err != nil {
		t.Fatalf("Encrypt(%s) = %v", file, err)
	}
	if *update {
		out := parts[0] + goldenSep + parts[1] + goldenSep + string(got) + "\n"
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		want = string(got)
	}
	if string(got) != want {
		t.Errorf("Encrypt(%s) =\n%s\nwant\n%s", file, got, want)
	}
	back, err := Decrypt(nil, []byte(want), f, p)
	if err != nil || string(back) != input {
		t.Errorf("Decrypt(expected output of %s) = %s, %v; want the input", file, back, err)
	}
}
