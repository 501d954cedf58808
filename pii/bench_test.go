package pii

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// benchBody returns a JSON array of corpus bodies of about size bytes.
func benchBody(b *testing.B, size int) []byte {
	b.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	sort.Strings(files)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; buf.Len() < size; i++ {
		doc, err := os.ReadFile(files[i%len(files)])
		if err != nil {
			b.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, doc); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(c.Bytes())
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

var benchSizes = []int{1 << 10, 4 << 10, 16 << 10}

// BenchmarkDetect runs Detect on corpus bodies of 1, 4 and 16 KiB, every
// value uncovered (the most work).
func BenchmarkDetect(b *testing.B) {
	for _, size := range benchSizes {
		doc := benchBody(b, size)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Detect(doc, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokensBaseline only walks the same bodies' tokens with
// encoding/json, as Detect does: the difference is the rules' cost.
func BenchmarkTokensBaseline(b *testing.B) {
	for _, size := range benchSizes {
		doc := benchBody(b, size)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(doc))
				dec.UseNumber()
				for {
					if _, err := dec.Token(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
