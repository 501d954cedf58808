// Package events is sdproxy's tamper-evident event log: one event per
// data-plane request and per admin change, written off the request path in
// batches to an embedded bbolt file, chained with HMAC-SHA256 so that
// Verify finds any changed, removed or reordered entry, pruned by age and
// count, and optionally copied as JSON lines to a sink for a SIEM.
package events
