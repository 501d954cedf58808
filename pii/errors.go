package pii

import "errors"

// Errors of Detect. They never quote the document.
var (
	// ErrTooLarge means the document is longer than MaxBytes.
	ErrTooLarge = errors.New("pii: document too large")
	// ErrTooDeep means arrays and objects nest deeper than MaxDepth.
	ErrTooDeep = errors.New("pii: JSON nested too deep")
	// ErrTooManyValues means the document holds more than MaxValues values.
	ErrTooManyValues = errors.New("pii: too many values")
	// ErrInvalidJSON means the document is not one valid JSON value.
	ErrInvalidJSON = errors.New("pii: invalid JSON")
)
