// Package events is sdproxy's tamper-evident event log: one event per
// data-plane request and per admin change, written off the request path in
// batches to an embedded bbolt file, chained with HMAC-SHA256 under a
// signed head so that Verify finds any changed, removed or reordered entry
// and a cut end, with signed checkpoints (to the sink and the logger) that
// VerifyWith compares against to find a log rolled back or wiped, pruned by
// age and count (failed authentications first), and optionally copied as
// JSON lines to a sink for a SIEM.
package events
