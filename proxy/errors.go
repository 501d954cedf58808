package proxy

import (
	"errors"

	"github.com/sdproxy/sdproxy/fieldcrypt"
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

	errInvalidMode   = &apiError{400, "invalid_mode", "X-Qanapi-Mode must be encrypt or decrypt"}
	errInvalidJSON   = &apiError{400, "invalid_json", "the body is not valid JSON"}
	errTooDeep       = &apiError{400, "invalid_json", "the JSON body is nested more than 32 levels deep"}
	errDuplicateKey  = &apiError{400, "invalid_json", "the JSON body has an object with a duplicate key"}
	errInvalidFields = &apiError{400, "invalid_fields", "the field list is malformed (comma-separated dot paths, e.g. user.email,items.*.card)"}
	errInvalidClass  = &apiError{400, "invalid_classification", "X-Qanapi-Classification must be a slug: a-z, 0-9, - and _, at most 64 characters"}
	errNoData        = &apiError{400, "invalid_request", `the body must be a JSON object with a "data" member`}
	errEncoded       = &apiError{415, "unsupported_content_encoding", "compressed bodies cannot be transformed safely; send the body uncompressed (Content-Encoding: identity)"}
	errPermission    = &apiError{403, "permission_denied", "this API key is not allowed to do that"}
	errClassMismatch = &apiError{403, "classification_mismatch", "a token's classification does not match X-Qanapi-Classification"}
	errNotAToken     = &apiError{422, "not_a_token", "a value to decrypt is not a token (qanapi:…:$)"}
	errDecryptFailed = &apiError{422, "decrypt_failed", "a token could not be decrypted"}
	errRateLimited   = &apiError{429, "rate_limited", "rate limit exceeded for this API key; retry after the time in Retry-After"}
)

// dataErrors maps the errors of fieldcrypt to what clients see.
var dataErrors = []struct {
	err error
	ae  *apiError
}{
	{fieldcrypt.ErrInvalidJSON, errInvalidJSON},
	{fieldcrypt.ErrTooDeep, errTooDeep},
	{fieldcrypt.ErrDuplicateKey, errDuplicateKey},
	{fieldcrypt.ErrInvalidFields, errInvalidFields},
	{fieldcrypt.ErrNotAToken, errNotAToken},
	{fieldcrypt.ErrDecryptFailed, errDecryptFailed},
	{fieldcrypt.ErrClassificationMismatch, errClassMismatch},
}

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
	for _, m := range dataErrors {
		if errors.Is(err, m.err) {
			return m.ae, true
		}
	}
	return errInternal, false
}
