package pii

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The corpus: testdata/corpus/*.json are realistic bodies (users, orders,
// payments, tickets, logs, API answers) and testdata/manifest.json lists,
// for each, every (path, kind) a reviewer marked as personal data or a
// secret of a kind Detect promises. A kind "a|b" accepts either (a value
// whose content and name both give it away). testdata/clean/*.json hold
// no personal data: ids, prices, timestamps, UUIDs, hashes, versions.

// Thresholds the measured false-positive rates must stay under.
const (
	maxCorpusFalsePositiveRate = 0.05 // unlisted hints / all hints on the corpus
	maxCleanFalsePositiveRate  = 0.01 // hints / string and number values on the clean bodies
)

type label struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

func (l label) accepts(h Hint) bool {
	return l.Path == h.Path && slices.Contains(strings.Split(l.Kind, "|"), h.Kind)
}

func loadManifest(t *testing.T) map[string][]label {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string][]label
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("testdata/manifest.json: %v", err)
	}
	return m
}

func corpusFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bodies in testdata/%s (%v)", dir, err)
	}
	sort.Strings(files)
	return files
}

// TestCorpusNoFalseNegatives: every listed (path, kind) is found, on every
// body of the corpus; the share of hints nobody listed is measured and
// bounded.
func TestCorpusNoFalseNegatives(t *testing.T) {
	manifest := loadManifest(t)
	files := corpusFiles(t, "corpus")
	if len(files) < 50 {
		t.Errorf("corpus has %d bodies, want at least 50", len(files))
	}
	var hints, unlisted, labels int
	kinds := map[string]int{}
	for _, file := range files {
		name := filepath.Base(file)
		want, ok := manifest[name]
		if !ok {
			t.Errorf("%s is not in testdata/manifest.json", name)
			continue
		}
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Detect(doc, nil)
		if err != nil {
			t.Errorf("Detect(%s) error = %v, want nil", name, err)
			continue
		}
		labels += len(want)
		for _, l := range want {
			kinds[strings.Split(l.Kind, "|")[0]]++
			if !slices.ContainsFunc(got, l.accepts) {
				t.Errorf("Detect(%s) has no hint %s %s (false negative); got %v", name, l.Path, l.Kind, got)
			}
		}
		for _, h := range got {
			hints++
			if !slices.ContainsFunc(want, func(l label) bool { return l.accepts(h) }) {
				unlisted++
				t.Logf("false positive: %s: %s %s (%s)", name, h.Path, h.Kind, h.Reason)
			}
		}
	}
	if len(manifest) != len(files) {
		t.Errorf("manifest lists %d bodies, corpus has %d", len(manifest), len(files))
	}
	rate := float64(unlisted) / float64(max(hints, 1))
	t.Logf("corpus: %d bodies, %d listed hints (%v), %d hints found, %d not listed: false-positive rate %.2f%%",
		len(files), labels, kinds, hints, unlisted, 100*rate)
	if rate > maxCorpusFalsePositiveRate {
		t.Errorf("corpus false-positive rate = %.2f%%, want at most %.2f%%", 100*rate, 100*maxCorpusFalsePositiveRate)
	}
}

// TestCleanBodies measures hints on bodies without personal data.
func TestCleanBodies(t *testing.T) {
	files := corpusFiles(t, "clean")
	if len(files) < 20 {
		t.Errorf("clean set has %d bodies, want at least 20", len(files))
	}
	var hints, values int
	for _, file := range files {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Detect(doc, nil)
		if err != nil {
			t.Errorf("Detect(%s) error = %v, want nil", file, err)
			continue
		}
		values += countScalars(t, doc)
		for _, h := range got {
			hints++
			t.Logf("false positive: %s: %s %s (%s)", filepath.Base(file), h.Path, h.Kind, h.Reason)
		}
	}
	rate := float64(hints) / float64(max(values, 1))
	t.Logf("clean: %d bodies, %d string and number values, %d hints: false-positive rate %.2f%% of values",
		len(files), values, hints, 100*rate)
	if rate > maxCleanFalsePositiveRate {
		t.Errorf("clean false-positive rate = %.2f%%, want at most %.2f%%", 100*rate, 100*maxCleanFalsePositiveRate)
	}
}

// countScalars counts the strings and numbers of doc.
func countScalars(t *testing.T, doc []byte) int {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var count func(any) int
	count = func(v any) int {
		switch v := v.(type) {
		case map[string]any:
			n := 0
			for _, e := range v {
				n += count(e)
			}
			return n
		case []any:
			n := 0
			for _, e := range v {
				n += count(e)
			}
			return n
		case string, float64:
			return 1
		}
		return 0
	}
	return count(v)
}
