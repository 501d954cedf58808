// Package bodycodec decodes compressed HTTP bodies (Content-Encoding gzip,
// deflate, br and lists of them) within a size limit, so that a small body
// that inflates enormously (a zip bomb) is refused after producing at most
// limit+1 bytes, at the cost of decoding them and no more.
//
// The proxy transforms JSON bodies and forwards them uncompressed, so there
// is no encoder.
//
// # Memory
//
// Decode writes the decoded bytes straight into the spare capacity of dst
// and, beyond it, into pooled 64 KiB chunks that it copies into dst once the
// whole body has been decoded within the limit; so refusing a bomb costs at
// most the limit in pooled chunks and no growth of dst, and a dst with
// enough capacity costs no copy at all. An intermediate result of a list of
// two codings is streamed, never held, and is itself held to the limit.
// Decoders are pooled: in the steady state a call allocates nothing but the
// growth of dst (TestDecodeAllocs). Each decoder keeps its window: 32 KiB
// for gzip and deflate, up to 2 × 16 MiB for br (the largest window RFC 7932
// allows, whatever the limit).
//
// Decode keeps no reference to body or dst after it returns.
package bodycodec
