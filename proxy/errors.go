package proxy

import (
	"errors"

	"github.com/sdproxy/sdproxy/keystore"
)

// apiError is an error with its HTTP status and public code. Its message
// is shown to the client, so it never carries secrets or field values.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Errors answered by the handlers. Every authentication failure is
// errUnauthorized, byte for byte.
var (
	errUnauthorized     = &apiError{401, "unauthorized", "missing or invalid credentials"}
	errNotFound         = &apiError{404, "not_found", "no such resource"}
	errProjectNotFound  = &apiError{404, "not_found", "project not found"}
	errKeyNotFound      = &apiError{404, "not_found", "API key not found in this project"}
	errMethodNotAllowed = &apiError{405, "method_not_allowed", "method not allowed on this path"}
	errKeyLimit         = &apiError{409, "key_limit_reached", "the project already has its maximum number of active API keys; revoke one first"}
	errInternal         = &apiError{500, "internal_error", "internal error"}
)

// badRequest is a 400 invalid_request naming what is wrong.
func badRequest(msg string) *apiError { return &apiError{400, "invalid_request", msg} }

// toAPIError maps any error to what the client sees. Unexpected errors
// become errInternal; the caller logs the original.
func toAPIError(err error) (ae *apiError, expected bool) {
	var fe *keystore.FieldError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &fe):
		return badRequest(fe.Error()), true
	case errors.Is(err, keystore.ErrProjectNotFound):
		return errProjectNotFound, true
	case errors.Is(err, keystore.ErrKeyNotFound):
		return errKeyNotFound, true
	case errors.Is(err, keystore.ErrNotFound):
		return errNotFound, true
	case errors.Is(err, keystore.ErrKeyLimit):
		return errKeyLimit, true
	case errors.Is(err, keystore.ErrUnauthorized):
		return errUnauthorized, true
	}
	return errInternal, false
}
