package keystore

import (
	"errors"
	"fmt"
)

// Errors returned by the store. Callers test them with errors.Is.
var (
	// ErrNotFound: no such record. The three errors below wrap it.
	ErrNotFound = errors.New("keystore: not found")
	// ErrProjectNotFound: no project with that id.
	ErrProjectNotFound = fmt.Errorf("%w: project", ErrNotFound)
	// ErrKeyNotFound: no key with that id in that project.
	ErrKeyNotFound = fmt.Errorf("%w: key", ErrNotFound)
	// ErrRouteNotFound: no route with that id in that project.
	ErrRouteNotFound = fmt.Errorf("%w: route", ErrNotFound)
	// ErrKeyLimit: creating the key would exceed the project's cap of
	// active keys.
	ErrKeyLimit = errors.New("keystore: active key limit reached")
	// ErrRouteLimit: the project already holds MaxRoutes routes.
	ErrRouteLimit = errors.New("keystore: route limit reached")
	// ErrUnauthorized: an API key is missing, malformed, unknown, revoked,
	// expired or of another project. It never says which.
	ErrUnauthorized = errors.New("keystore: unauthorized")
	// ErrLocked: another process holds the data directory.
	ErrLocked = errors.New("keystore: data directory is in use by another process")
	// ErrWrongMasterKey: the master key does not open this store.
	ErrWrongMasterKey = errors.New("keystore: the master key does not match this data directory")
	// ErrBadMasterKey: the master key is not 32 bytes.
	ErrBadMasterKey = errors.New("keystore: master key must be 32 bytes")
	// ErrInvalid: an input failed validation; the error is a *FieldError.
	ErrInvalid = errors.New("keystore: invalid input")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("keystore: store is closed")
)

// FieldError names the input field that failed validation.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}
