package bodycodec

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	brrr "github.com/molecule-man/go-brrr"
)

// decoder holds what one Decode needs, reused through decoderPool: a reader
// of each coding for each stage, made on first use and then reset, the
// buffer between two stages, and the chunks of output beyond dst's
// capacity.
type decoder struct {
	src    bytes.Reader  // the body
	mid    capped        // the first stage's output, when there are two
	buf    *bufio.Reader // mid, buffered: flate reads it byte by byte
	gz     [MaxCodings]*gzip.Reader
	zl     [MaxCodings]io.ReadCloser // zlib, also a zlib.Resetter
	fl     [MaxCodings]io.ReadCloser // raw deflate, also a flate.Resetter
	br     [MaxCodings]*brrr.Reader
	chunks []*chunk
}

// chunkSize is the size of the pooled chunks that hold output beyond dst's
// capacity until the whole body is known to fit the limit.
const chunkSize = 64 << 10

// chunk is one pooled piece of output; n bytes of buf are used.
type chunk struct {
	buf [chunkSize]byte
	n   int
}

var (
	decoderPool = sync.Pool{New: func() any { return new(decoder) }}
	chunkPool   = sync.Pool{New: func() any { return new(chunk) }}
)

func getDecoder() *decoder { return decoderPool.Get().(*decoder) }

// putDecoder drops the decoder's references to the caller's body and to
// the stages, returns its chunks and puts it back in the pool.
func putDecoder(d *decoder) {
	d.src.Reset(nil)
	d.mid = capped{}
	if d.buf != nil {
		d.buf.Reset(&d.mid)
	}
	for i, c := range d.chunks {
		c.n = 0
		chunkPool.Put(c)
		d.chunks[i] = nil
	}
	d.chunks = d.chunks[:0]
	decoderPool.Put(d)
}

// midBuf returns the buffer between two stages.
func (d *decoder) midBuf() *bufio.Reader {
	if d.buf == nil {
		d.buf = bufio.NewReader(&d.mid)
	}
	return d.buf
}

// open returns the reader of stage i, decoding c from src. head is the
// start of the body when src reads it, else nil.
func (d *decoder) open(i int, c coding, src flate.Reader, head []byte) (io.Reader, error) {
	switch c {
	case codingGzip:
		if d.gz[i] == nil {
			d.gz[i] = new(gzip.Reader)
		}
		return d.gz[i], d.gz[i].Reset(src)
	case codingBrotli:
		if d.br[i] == nil {
			d.br[i] = brrr.NewReader(src)
		} else {
			d.br[i].Reset(src)
		}
		return d.br[i], nil
	}
	if head == nil {
		head, _ = d.buf.Peek(2)
	}
	if !isZlib(head) {
		if d.fl[i] == nil {
			d.fl[i] = flate.NewReader(src)
		} else if err := d.fl[i].(flate.Resetter).Reset(src, nil); err != nil {
			return nil, err
		}
		return d.fl[i], nil
	}
	if d.zl[i] == nil {
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, err
		}
		d.zl[i] = zr
	} else if err := d.zl[i].(zlib.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	return d.zl[i], nil
}

// isZlib reports whether b starts with a zlib header (RFC 1950 §2.2):
// method 8 (deflate), a window of at most 32 KiB, and a check value making
// the first two bytes a multiple of 31. A raw deflate stream starts so only
// by chance, about once in 250 streams of random first bytes, and far less
// often in practice; a zlib stream with a preset dictionary is corrupt here.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint(b[0])<<8|uint(b[1]))%31 == 0
}

// room returns where the next decoded bytes go: the spare capacity of dst
// until there are chunks, then the rest of the last chunk or a new one.
func (d *decoder) room(dst []byte) []byte {
	if len(d.chunks) == 0 && len(dst) < cap(dst) {
		return dst[len(dst):cap(dst)]
	}
	if len(d.chunks) == 0 || d.chunks[len(d.chunks)-1].n == chunkSize {
		d.chunks = append(d.chunks, chunkPool.Get().(*chunk))
	}
	c := d.chunks[len(d.chunks)-1]
	return c.buf[c.n:]
}

// fill records n bytes written where room said.
func (d *decoder) fill(dst []byte, n int) []byte {
	if len(d.chunks) == 0 {
		return dst[:len(dst)+n]
	}
	d.chunks[len(d.chunks)-1].n += n
	return dst
}

// flushChunks appends the chunks to dst, growing it once.
func (d *decoder) flushChunks(dst []byte) []byte {
	if len(d.chunks) == 0 {
		return dst
	}
	n := 0
	for _, c := range d.chunks {
		n += c.n
	}
	dst = slices.Grow(dst, n)
	for _, c := range d.chunks {
		dst = append(dst, c.buf[:c.n]...)
	}
	return dst
}
