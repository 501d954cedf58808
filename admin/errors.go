package admin

import (
	"errors"
	"strconv"

	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// Errors the admin API answers besides httpapi's.
var (
	errUnauthorized    = &httpapi.Error{Status: 401, Code: "unauthorized", Message: "missing or invalid credentials"}
	errProjectNotFound = &httpapi.Error{Status: 404, Code: "not_found", Message: "project not found"}
	errKeyNotFound     = &httpapi.Error{Status: 404, Code: "not_found", Message: "API key not found in this project"}
	errKeyLimit        = &httpapi.Error{Status: 409, Code: "key_limit_reached", Message: "the project already has its maximum number of active API keys; revoke one first"}
	errRouteNotFound   = &httpapi.Error{Status: 404, Code: "not_found", Message: "route not found in this project"}
	errRouteLimit      = &httpapi.Error{Status: 409, Code: "route_limit_reached", Message: "the project already has " + strconv.Itoa(keystore.MaxRoutes) + " routes; delete one first"}
)

// storeErrors maps the key store's sentinels to what the admin API answers.
var storeErrors = []struct {
	err error
	ae  *httpapi.Error
}{
	{keystore.ErrProjectNotFound, errProjectNotFound},
	{keystore.ErrKeyNotFound, errKeyNotFound},
	{keystore.ErrRouteNotFound, errRouteNotFound},
	{keystore.ErrNotFound, httpapi.ErrNotFound},
	{keystore.ErrKeyLimit, errKeyLimit},
	{keystore.ErrRouteLimit, errRouteLimit},
	{keystore.ErrUnauthorized, errUnauthorized},
}

// toAPIError is the admin listener's one table from errors to answers.
// Unexpected errors become httpapi.ErrInternal (and are logged by
// httpapi.WriteError).
func toAPIError(err error) (*httpapi.Error, bool) {
	var ae *httpapi.Error
	var fe *keystore.FieldError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &fe):
		return httpapi.BadRequest(fe.Error()), true
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.err) {
			return m.ae, true
		}
	}
	return httpapi.ErrInternal, false
}
