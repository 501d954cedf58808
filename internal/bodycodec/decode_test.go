package bodycodec

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecodeRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"1 byte":        []byte("x"),
		"300 B JSON":    jsonBody(300),
		"1 MiB JSON":    jsonBody(1 << 20),
		"100 KiB noise": noise(100 << 10),
	}
	for _, name := range []string{"gzip", "x-gzip", "deflate", "raw-deflate", "br", "br-24"} {
		enc := name
		switch name {
		case "raw-deflate":
			enc = "deflate"
		case "br-24":
			enc = "br"
		}
		for what, data := range inputs {
			body := compress(t, name, data)
			for _, dst := range map[string][]byte{"nil dst": nil, "prefix": []byte("prefix"), "pre-sized": make([]byte, 0, len(data))} {
				prefix := string(dst)
				got, err := Decode(dst, body, []byte(enc), len(data))
				if err != nil || string(got[:len(prefix)]) != prefix || !bytes.Equal(got[len(prefix):], data) {
					t.Errorf("Decode(%s of %s, %q, limit %d) = %d bytes, %v; want %q + the input", name, what, enc, len(data), len(got), err, prefix)
				}
			}
		}
	}
}

func TestDecodeCodingNames(t *testing.T) {
	data := jsonBody(2000)
	tests := []struct {
		enc     string
		applied []string
	}{
		{"", nil},
		{"identity", nil},
		{"IDENTITY", nil},
		{"GZip", []string{"gzip"}},
		{"X-GZIP", []string{"gzip"}},
		{"Deflate", []string{"deflate"}},
		{"BR", []string{"br"}},
		{" \tgzip\t ", []string{"gzip"}},
		{"identity, gzip", []string{"gzip"}},
		{"gzip,,identity,", []string{"gzip"}},
		{"gzip, br", []string{"gzip", "br"}},
		{"br,gzip", []string{"br", "gzip"}},
		{"deflate, gzip", []string{"deflate", "gzip"}},
		{"gzip, deflate", []string{"gzip", "deflate"}},
		{"gzip, raw-deflate", []string{"gzip", "raw-deflate"}},
		{"raw-deflate, br", []string{"raw-deflate", "br"}},
		{"br, br", []string{"br", "br"}},
		{"gzip, identity, gzip", []string{"gzip", "gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.enc, func(t *testing.T) {
			body := encode(t, data, tt.applied...)
			enc := bytes.ReplaceAll([]byte(tt.enc), []byte("raw-deflate"), []byte("deflate"))
			if !Supported(enc) {
				t.Errorf("Supported(%q) = false, want true", enc)
			}
			got, err := Decode(nil, body, enc, len(data))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("Decode(%q) = %d bytes, %v; want the %d bytes of input", enc, len(got), err, len(data))
			}
		})
	}
}

func TestDecodeUnsupported(t *testing.T) {
	body := encode(t, []byte(`{"a":1}`), "gzip")
	for _, enc := range []string{"compress", "x-compress", "zstd", "gzip, zstd", "gzip;q=1", "gzip br", "g zip", "gzip, br, gzip", "br, br, identity, br", "\x00"} {
		t.Run(enc, func(t *testing.T) {
			if Supported([]byte(enc)) {
				t.Errorf("Supported(%q) = true, want false", enc)
			}
			got, err := Decode([]byte("dst"), body, []byte(enc), 1<<20)
			if !errors.Is(err, ErrUnsupported) || string(got) != "dst" {
				t.Errorf("Decode(%q) = %q, %v; want dst unchanged, ErrUnsupported", enc, got, err)
			}
		})
	}
	if _, err := Decode(nil, nil, []byte("zstd"), 10); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Decode(empty body, zstd) = %v, want ErrUnsupported", err)
	}
}

func TestDecodeEmptyBody(t *testing.T) {
	for _, enc := range []string{"", "gzip", "deflate", "br", "gzip, br"} {
		got, err := Decode([]byte("dst"), nil, []byte(enc), 0)
		if err != nil || string(got) != "dst" {
			t.Errorf("Decode(empty, %q) = %q, %v; want dst, nil", enc, got, err)
		}
	}
}

// TestDecodeLimit decodes at the limit and one byte over it, for each
// coding, for stacked codings, and for an intermediate result over it.
func TestDecodeLimit(t *testing.T) {
	data := jsonBody(100 << 10)
	for _, applied := range [][]string{nil, {"gzip"}, {"deflate"}, {"raw-deflate"}, {"br"}, {"gzip", "br"}, {"br", "deflate"}} {
		body := encode(t, data, applied...)
		enc := encName(applied)
		for _, dst := range [][]byte{nil, make([]byte, 0, len(data)+1)} {
			if got, err := Decode(dst, body, enc, len(data)); err != nil || !bytes.Equal(got, data) {
				t.Errorf("Decode(%q, limit = size, cap %d) = %d bytes, %v; want the input", enc, cap(dst), len(got), err)
			}
			if got, err := Decode(dst, body, enc, len(data)-1); !errors.Is(err, ErrTooLarge) || len(got) != 0 {
				t.Errorf("Decode(%q, limit = size-1, cap %d) = %d bytes, %v; want ErrTooLarge", enc, cap(dst), len(got), err)
			}
		}
	}
	if _, err := Decode(nil, []byte("abc"), nil, -1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode(identity, limit -1) = %v, want ErrTooLarge", err)
	}
	if got, err := Decode(nil, encode(t, nil, "gzip"), []byte("gzip"), 0); err != nil || len(got) != 0 {
		t.Errorf("Decode(gzip of nothing, limit 0) = %q, %v; want nothing", got, err)
	}
}

// TestDecodeIntermediateLimit: a raw deflate stream of empty blocks decodes
// to nothing but is itself large; gzipped, it is small. The intermediate
// result is held to the limit too, so the CPU spent stays in proportion to
// the limit.
func TestDecodeIntermediateLimit(t *testing.T) {
	empty := bytes.Repeat([]byte{0, 0, 0, 0xff, 0xff}, 100<<10) // non-final empty stored blocks
	inner := append(empty, 1, 0, 0, 0xff, 0xff)                 // a final empty one
	body := encode(t, inner, "gzip")
	if got, err := Decode(nil, body, []byte("deflate, gzip"), len(inner)); err != nil || len(got) != 0 {
		t.Fatalf("Decode(deflate, gzip; limit %d) = %d bytes, %v; want nothing", len(inner), len(got), err)
	}
	if _, err := Decode(nil, body, []byte("deflate, gzip"), len(inner)-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode(deflate, gzip; limit %d) = %v, want ErrTooLarge", len(inner)-1, err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	data := jsonBody(5000)
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x55
		return b
	}
	gz, zl, br := encode(t, data, "gzip"), encode(t, data, "deflate"), encode(t, data, "br")
	raw := encode(t, data, "raw-deflate")
	stacked := encode(t, data, "gzip", "br")
	tests := []struct {
		name, enc string
		body      []byte
	}{
		{"gzip truncated", "gzip", gz[:len(gz)/2]},
		{"gzip without trailer", "gzip", gz[:len(gz)-8]},
		{"gzip bad header", "gzip", flip(gz, 0)},
		{"gzip bad checksum", "gzip", flip(gz, len(gz)-6)},
		{"gzip bad size", "gzip", flip(gz, len(gz)-2)},
		{"gzip trailing garbage", "gzip", append(bytes.Clone(gz), "junk"...)},
		{"gzip labelled br", "br", gz},
		{"zlib truncated", "deflate", zl[:len(zl)-5]},
		{"zlib bad checksum", "deflate", flip(zl, len(zl)-1)},
		{"zlib trailing garbage", "deflate", append(bytes.Clone(zl), 0)},
		{"zlib preset dictionary", "deflate", append([]byte{0x78, 0xbb, 0, 0, 0, 2}, zl[2:]...)},
		{"raw deflate truncated", "deflate", raw[:len(raw)/2]},
		{"raw deflate trailing garbage", "deflate", append(bytes.Clone(raw), "junk"...)},
		{"deflate garbage", "deflate", []byte("this is not deflate at all")},
		{"br truncated", "br", br[:len(br)/2]},
		{"br trailing garbage", "br", append(bytes.Clone(br), "junk"...)},
		{"br garbage", "br", []byte{0xff, 0xff, 0xff, 0xff}},
		{"plain text as gzip", "gzip", data},
		{"stacked, inner truncated", "gzip, br", encode(t, encode(t, data, "gzip")[:100], "br")},
		{"stacked, inner trailing garbage", "gzip, br", encode(t, append(encode(t, data, "gzip"), 'x'), "br")},
		{"stacked, outer trailing garbage", "gzip, br", append(bytes.Clone(stacked), 'x')},
		{"stacked, inner bad checksum", "gzip, br", encode(t, flip(gz, len(gz)-6), "br")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte("dst"), tt.body, []byte(tt.enc), 1<<20)
			if !errors.Is(err, ErrCorrupt) || string(got) != "dst" {
				t.Errorf("Decode(%s) = %d bytes, %v; want dst unchanged, ErrCorrupt", tt.name, len(got), err)
			}
		})
	}
}

// TestIsZlib checks the deflate sniffing on every first two bytes that
// the standard library's zlib writer produces, and on raw deflate streams.
func TestIsZlib(t *testing.T) {
	for _, name := range []string{"deflate", "raw-deflate"} {
		for _, data := range [][]byte{nil, []byte("a"), jsonBody(3000), noise(100)} {
			if got := isZlib(compress(t, name, data)); got != (name == "deflate") {
				t.Errorf("isZlib(%s of %d bytes) = %v", name, len(data), got)
			}
		}
	}
}

func encName(applied []string) []byte {
	var b []byte
	for i, name := range applied {
		if i > 0 {
			b = append(b, ", "...)
		}
		if name == "raw-deflate" {
			name = "deflate"
		}
		b = append(b, name...)
	}
	return b
}
