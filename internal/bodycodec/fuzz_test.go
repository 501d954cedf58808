package bodycodec

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

// FuzzDecode checks, for any body, Content-Encoding and limit: no panic;
// the result is within the limit; every error is one of the three, with
// dst unchanged; an unsupported enc is refused whatever the body; and a
// body that the standard library's gzip reader decodes within the limit
// (one member, nothing after it) decodes to the same bytes here.
func FuzzDecode(f *testing.F) {
	data := jsonBody(300)
	for _, applied := range [][]string{{"gzip"}, {"deflate"}, {"raw-deflate"}, {"br"}, {"gzip", "br"}} {
		f.Add(encode(f, data, applied...), string(encName(applied)), 1000)
	}
	f.Add([]byte("plain"), "identity", 3)
	f.Add(encode(f, data, "gzip"), "GZIP, zstd", 1000)
	f.Fuzz(func(t *testing.T, body []byte, enc string, limit int) {
		limit = limit & (1<<20 - 1)
		got, err := Decode([]byte("dst"), body, []byte(enc), limit)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%q, %q) = %v, not a bodycodec error", body, enc, err)
			}
			if string(got) != "dst" {
				t.Fatalf("Decode(%q, %q) failed with %v but returned %q", body, enc, err, got)
			}
		} else if len(got)-3 > limit || string(got[:3]) != "dst" {
			t.Fatalf("Decode(%q, %q, limit %d) = %d bytes, over the limit or lost dst", body, enc, limit, len(got))
		}
		if errors.Is(err, ErrUnsupported) == Supported([]byte(enc)) {
			t.Fatalf("Decode(%q) = %v but Supported = %v", enc, err, Supported([]byte(enc)))
		}
		if enc != "gzip" {
			return
		}
		want, ok := stdGunzip(body, limit)
		switch {
		case ok && (err != nil || !bytes.Equal(got[3:], want)):
			t.Fatalf("Decode(%q, gzip) = %q, %v; compress/gzip gives %q", body, got[3:], err, want)
		case !ok && err == nil && len(body) > 0 && !multiMember(body):
			t.Fatalf("Decode(%q, gzip) = %q but compress/gzip refuses it", body, got[3:])
		}
	})
}

// stdGunzip decodes one gzip member with the standard library and reports
// whether it is valid, alone in body, and within limit.
func stdGunzip(body []byte, limit int) ([]byte, bool) {
	r := bytes.NewReader(body)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, false
	}
	zr.Multistream(false)
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil || len(out) > limit || r.Len() != 0 {
		return nil, false
	}
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		return nil, false
	}
	return out, true
}

// multiMember reports whether body starts with a whole gzip member followed
// by more bytes (which Decode reads as further members, as gzip readers do).
func multiMember(body []byte) bool {
	r := bytes.NewReader(body)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return false
	}
	zr.Multistream(false)
	_, err = io.Copy(io.Discard, zr)
	return err == nil && r.Len() > 0
}
