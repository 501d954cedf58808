package bodycodec

import (
	"errors"
	"fmt"
	"io"
)

// Decode appends to dst the decoding of body, whose Content-Encoding value
// is enc, and fails with ErrTooLarge as soon as more than limit bytes would
// be produced, before producing more than limit+1 of them.
//
// enc is parsed as Supported says: "gzip", "x-gzip", "deflate", "br",
// "identity" or "", in any letter case, or a list of them such as
// "gzip, br", which is decoded in reverse order (br first). "deflate" is the
// zlib format (RFC 9110), or raw deflate when the body does not start with a
// zlib header, as many servers send it. Anything else is ErrUnsupported; a
// body that is not a valid stream of its coding, or holds bytes after its
// end, is ErrCorrupt. An empty body decodes to nothing, whatever enc says,
// as long as it is supported (a 204 or HEAD answer may carry one).
//
// limit is the largest decoded size accepted; it also bounds the
// intermediate result of a list of two codings. A negative limit counts as
// zero. On error Decode returns dst unchanged. dst and body must not
// overlap. Decode is safe for concurrent use.
func Decode(dst, body, enc []byte, limit int) ([]byte, error) {
	cs, bad, ok := parseCodings(enc)
	if !ok {
		return dst, fmt.Errorf("bodycodec.Decode: %w", unsupported(bad))
	}
	limit = max(limit, 0)
	if cs.n == 0 || len(body) == 0 {
		if len(body) > limit {
			return dst, fmt.Errorf("bodycodec.Decode: %w", ErrTooLarge)
		}
		return append(dst, body...), nil
	}
	d := getDecoder()
	defer putDecoder(d)
	out, err := d.decode(dst, body, cs, limit)
	if err != nil {
		return dst, fmt.Errorf("bodycodec.Decode %q: %w", enc, err)
	}
	return out, nil
}

// decode runs the stages of cs over body, the last coding applied first,
// and reads the result into dst.
func (d *decoder) decode(dst, body []byte, cs codings, limit int) ([]byte, error) {
	d.src.Reset(body)
	r, err := d.open(0, cs.list[cs.n-1], &d.src, body)
	if err != nil {
		return dst, d.cause(err)
	}
	if cs.n == 2 {
		d.mid = capped{r: r, left: limit}
		d.midBuf().Reset(&d.mid)
		if r, err = d.open(1, cs.list[0], d.buf, nil); err != nil {
			return dst, d.cause(err)
		}
	}
	start := len(dst)
	if dst, err = d.readAll(dst, r, limit); err != nil {
		return dst[:start], d.cause(err)
	}
	if err := d.checkEnd(cs.n); err != nil {
		return dst[:start], d.cause(err)
	}
	return d.flushChunks(dst), nil
}

// readAll reads r to its end into the spare capacity of dst, then into
// chunks, refusing more than limit bytes.
func (d *decoder) readAll(dst []byte, r io.Reader, limit int) ([]byte, error) {
	total := 0
	for {
		buf := d.room(dst)
		if room := limit - total; len(buf) > room {
			buf = buf[:room+1] // one byte over is enough to know
		}
		n, err := r.Read(buf)
		dst = d.fill(dst, n)
		if total += n; total > limit {
			return dst, ErrTooLarge
		}
		switch {
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return dst, err
		}
	}
}

// checkEnd checks, once the last stage has ended, that nothing follows the
// stream of any stage: a first stage over the body must have consumed it
// all, and reading on past the second stage's end must find the first
// stage's end (which verifies its checksum).
func (d *decoder) checkEnd(stages int) error {
	if stages == 2 {
		if _, err := d.buf.ReadByte(); err != io.EOF {
			if err == nil {
				return errTrailing
			}
			return err
		}
	}
	if d.src.Len() != 0 {
		return errTrailing
	}
	return nil
}

// errTrailing means bytes follow the end of a compressed stream.
var errTrailing = errors.New("data after the end of the stream")

// cause turns a decoder's error into ErrTooLarge when the intermediate
// result crossed the limit, and into ErrCorrupt with the detail otherwise.
func (d *decoder) cause(err error) error {
	switch {
	case d.mid.over || errors.Is(err, ErrTooLarge):
		return ErrTooLarge
	case errors.Is(err, ErrCorrupt):
		return err
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// capped reads from r and fails with ErrTooLarge once more than left bytes
// have come through: it holds the intermediate result of two codings to the
// limit.
type capped struct {
	r    io.Reader
	left int
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.over {
		return 0, ErrTooLarge
	}
	if len(p) > c.left {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= n; c.left < 0 {
		c.over = true
		return 0, ErrTooLarge
	}
	return n, err
}
