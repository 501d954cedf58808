package bodycodec

import "errors"

// Errors of Decode, wrapped with the operation ("bodycodec.Decode gzip: ...");
// test them with errors.Is.
var (
	// ErrTooLarge means that decoding would produce more than the limit:
	// the body itself, an intermediate result of a list of codings, or the
	// final result.
	ErrTooLarge = errors.New("bodycodec: decoded body too large")
	// ErrUnsupported means a Content-Encoding names a coding other than
	// gzip, x-gzip, deflate, br and identity, or more than MaxCodings of
	// them.
	ErrUnsupported = errors.New("bodycodec: unsupported content coding")
	// ErrCorrupt means the body is not a valid stream of its coding:
	// truncated, a bad header or checksum, or bytes after the end.
	ErrCorrupt = errors.New("bodycodec: corrupt body")
)
