package bodycodec

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	brrr "github.com/molecule-man/go-brrr"
)

// The tests compress with the standard library (gzip, zlib, deflate) and
// go-brrr's encoder (br), so that the decoders are checked against another
// implementation where there is one.

// compress returns data encoded with one coding name: gzip, x-gzip,
// deflate (zlib), raw-deflate, br (level 5) or br-24 (a 16 MiB window).
func compress(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	b, err := tryCompress(name, data)
	if err != nil {
		t.Fatalf("compress(%s) = %v", name, err)
	}
	return b
}

func tryCompress(name string, data []byte) ([]byte, error) {
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch name {
	case "gzip", "x-gzip":
		w, err = gzip.NewWriterLevel(&b, gzip.BestCompression)
	case "deflate":
		w, err = zlib.NewWriterLevel(&b, zlib.BestCompression)
	case "raw-deflate":
		w, err = flate.NewWriter(&b, flate.BestCompression)
	case "br":
		w, err = brrr.NewWriter(&b, 5)
	case "br-24":
		w, err = brrr.NewWriterOptions(&b, 5, brrr.WriterOptions{LGWin: 24})
	default:
		err = fmt.Errorf("unknown coding %q", name)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encode applies the codings of a Content-Encoding list in order, as a
// server would ("gzip, br": gzip first, then br).
func encode(t testing.TB, data []byte, list ...string) []byte {
	t.Helper()
	for _, name := range list {
		data = compress(t, name, data)
	}
	return data
}

// jsonBody returns a JSON document of about n bytes, repetitive like real
// API answers.
func jsonBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"title":"Post number %d","email":"user%d@example.com"}`, i, i, i%7)
	}
	b.WriteString(`],"total":1}`)
	return []byte(b.String())
}

// noise returns n bytes that do not compress.
func noise(n int) []byte {
	r := rand.NewChaCha8([32]byte{7})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}
