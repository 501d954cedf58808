package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestReadSplitsByCategory(t *testing.T) {
	f, err := os.Open("testdata/four.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := read(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{ // total, kernel
		"upstream round trip (fasthttp client)": {200000, 200000},
		"handler: field encryption":             {100000, 0},
		"server: read request, write answer":    {300000, 300000},
		"event log writer":                      {400000, 0},
	}
	for i, c := range categories {
		got := [2]int64{s.total[i], s.kernel[i]}
		if got != want[c.name] {
			t.Errorf("%s: total, kernel = %v, want %v", c.name, got, want[c.name])
		}
	}
	if s.all != 1_000_000 {
		t.Errorf("all = %d, want 1000000", s.all)
	}
	var out bytes.Buffer
	writeTable(&out, "t", s, 10)
	// 200,000 ns over 10 requests: 20 us each, all of it in the kernel.
	if !strings.Contains(out.String(), "upstream round trip (fasthttp client)                  20.0           20.0") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestReadRefusesOtherFormats(t *testing.T) {
	if _, err := read(strings.NewReader("perf 1234 [001] 1.0: cpu-clock:\n\tffff sym\n")); err == nil {
		t.Fatal("read took output without periods")
	}
}
