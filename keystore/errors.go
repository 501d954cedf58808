package keystore

import (
	"errors"
	"fmt"
	"strings"
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
	// ErrClassificationNotFound: the project defines no classification
	// with that slug.
	ErrClassificationNotFound = fmt.Errorf("%w: classification", ErrNotFound)
	// ErrClassificationExists: the project already defines a
	// classification with that slug.
	ErrClassificationExists = errors.New("keystore: classification already exists")
	// ErrClassificationInUse: the classification cannot be deleted while
	// an active key's scope or a route names it; the error is an
	// *InUseError, which names them.
	ErrClassificationInUse = errors.New("keystore: classification in use")
	// ErrClassificationLimit: the project already holds MaxClassifications
	// classifications.
	ErrClassificationLimit = errors.New("keystore: classification limit reached")
	// ErrKeyLimit: creating the key would exceed the project's cap of
	// active keys.
	ErrKeyLimit = errors.New("keystore: active key limit reached")
	// ErrGraceLimit: the project already holds as many rotated keys in
	// their grace period as its cap of active keys (see RotateKey).
	ErrGraceLimit = errors.New("keystore: rotated keys in their grace period at the limit")
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
	// ErrStoreUnavailable: etcd cannot be reached (or has no quorum), so
	// a read or write of the store could not be done; or, for
	// Authenticate, this instance has not heard from etcd for longer than
	// EtcdOptions.MaxStaleness, so its cache may honour a revoked key. A
	// write fails with it once etcd has not answered for the request
	// timeout; when etcd stopped answering in the middle of the write's
	// commit the error says so, and the write may have been applied.
	ErrStoreUnavailable = errors.New("keystore: store unavailable")
	// ErrNotCaughtUp (which is also ErrStoreUnavailable): a write was
	// committed in etcd, but this instance's cache did not catch up with
	// it within the request timeout. The change is made: it takes effect
	// on the instances whose watch works, and on this one once its watch
	// recovers.
	ErrNotCaughtUp = fmt.Errorf("%w: the change was made, but this instance has not caught up with it", ErrStoreUnavailable)
	// ErrConflict: a write on etcd kept conflicting with the writes of
	// other instances and was given up after EtcdOptions.MaxAttempts
	// tries; nothing was written.
	ErrConflict = errors.New("keystore: too many concurrent writes; try again")
	// ErrBudgetExhausted: the key's decrypt budget cannot cover the values
	// of the request in the current window; nothing was spent. The first
	// refusal of a window is a *BudgetExhaustedError, which wraps it.
	ErrBudgetExhausted = errors.New("keystore: decrypt budget exhausted")
	// ErrStorageFull: the bbolt file could not be written because its
	// file system is full (or over quota); nothing was changed. Writes
	// succeed again once space is freed, with no restart.
	ErrStorageFull = errors.New("keystore: the data directory's disk is full")
	// ErrEtcdFull: etcd refused a write because its database reached its
	// space quota (--quota-backend-bytes; its NOSPACE alarm); nothing was
	// written. It wraps along with ErrStoreUnavailable. Writes succeed
	// again once an operator has freed space in etcd and disarmed the
	// alarm, with no restart.
	ErrEtcdFull = errors.New("keystore: etcd's database is full")
)

// ErrSubjectErased: the subject's secret was destroyed (EraseSubject), so
// its tokens no longer open and nothing more may be sealed for it. It has
// a method SubjectErased() bool, by which fieldcrypt knows it without
// importing the store.
var ErrSubjectErased error = subjectErasedError{}

type subjectErasedError struct{}

func (subjectErasedError) Error() string       { return "keystore: subject erased" }
func (subjectErasedError) SubjectErased() bool { return true }

// FieldError names the input field that failed validation.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// InUseError names what keeps a classification from being deleted: the
// active keys whose scope names it and the routes whose request rule tags
// with it, each list sorted.
type InUseError struct {
	Slug   string
	Keys   []string
	Routes []string
}

func (e *InUseError) Error() string {
	var by []string
	if len(e.Keys) > 0 {
		by = append(by, plural(len(e.Keys), "key ", "keys ")+strings.Join(e.Keys, ", "))
	}
	if len(e.Routes) > 0 {
		by = append(by, plural(len(e.Routes), "route ", "routes ")+strings.Join(e.Routes, ", "))
	}
	return fmt.Sprintf("classification %q is named by %s", e.Slug, strings.Join(by, " and "))
}

// Unwrap makes errors.Is(err, ErrClassificationInUse) true.
func (e *InUseError) Unwrap() error { return ErrClassificationInUse }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}
