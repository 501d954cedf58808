// Package pii finds values in a JSON document that look like personal data
// or secrets and that no rule protects: the "hints" of sdproxy's preview.
//
// Detect walks a document (at most MaxBytes, MaxDepth levels, MaxValues
// values) and returns one Hint per path and kind: the path in the
// X-Qanapi-Fields syntax, array indices written *, so it can be pasted
// into a route; the kind (email, phone, card_number, iban, us_ssn,
// ip_address, jwt, secret_like, or field_name:<name> when only the
// field's name gives it away); and a fixed reason. A Hint never holds the
// value or any part of it, and the package logs nothing.
//
// The rules are heuristics tuned for few false positives on API bodies
// (ids, prices, timestamps, UUIDs, hashes, version strings): checksums
// where a format has one (Luhn, mod-97), known prefixes and ranges, and
// context from the field's name. docs/preview.md lists them with the
// false-positive rate measured on the corpus in testdata/.
//
// It is not on the data plane's hot path and imports only the standard
// library.
package pii
