package admin

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// Errors the admin API answers besides httpapi's.
var (
	errUnauthorized    = &httpapi.Error{Status: 401, Code: "unauthorized", Message: "missing or invalid credentials"}
	errAuthLimited     = &httpapi.Error{Status: 429, Code: "rate_limited", Message: "too many failed authentications from this address; retry later"}
	errProjectNotFound = &httpapi.Error{Status: 404, Code: "not_found", Message: "project not found"}
	errKeyNotFound     = &httpapi.Error{Status: 404, Code: "not_found", Message: "API key not found in this project"}
	errKeyLimit        = &httpapi.Error{Status: 409, Code: "key_limit_reached", Message: "the project already has its maximum number of active API keys; revoke one first"}
	errGraceLimit      = &httpapi.Error{Status: 409, Code: "key_limit_reached", Message: "the project already has as many rotated keys still in their grace period as its maximum of active keys; revoke one of them, or wait until one expires"}
	errRouteNotFound   = &httpapi.Error{Status: 404, Code: "not_found", Message: "route not found in this project"}
	errRouteLimit      = &httpapi.Error{Status: 409, Code: "route_limit_reached", Message: "the project already has " + strconv.Itoa(keystore.MaxRoutes) + " routes; delete one first"}

	errClassificationNotFound = &httpapi.Error{Status: 404, Code: "not_found", Message: "classification not found in this project"}
	errClassificationExists   = &httpapi.Error{Status: 409, Code: "classification_exists", Message: "the project already has a classification with this slug; change it with PUT …/classifications/{slug}"}
	errClassificationLimit    = &httpapi.Error{Status: 409, Code: "classification_limit_reached", Message: "the project already has " + strconv.Itoa(keystore.MaxClassifications) + " classifications; delete one first"}

	errStoreUnavailable = &httpapi.Error{Status: 503, Code: "store_unavailable", Message: "the store (etcd) cannot be reached; nothing was changed, unless etcd went away while the change was being made: check before retrying"}
	errNotCaughtUp      = &httpapi.Error{Status: 503, Code: "store_unavailable", Message: "the change was made in etcd, but this instance's copy of the store has not caught up with it (its watch of etcd is behind); other instances apply it; do not repeat it"}
	errEtcdFull         = &httpapi.Error{Status: 503, Code: "store_unavailable", Message: "etcd's database is full (its space quota, --quota-backend-bytes): nothing was changed; compact and defragment etcd and disarm its NOSPACE alarm, then retry (no restart needed)"}
	errStorageFull      = &httpapi.Error{Status: 503, Code: "store_unavailable", Message: "the data directory's disk is full; nothing was changed; free space and retry (no restart needed)"}
	errStoreBusy        = &httpapi.Error{Status: 503, Code: "store_busy", Message: "too many concurrent changes to the same records; nothing was changed; retry"}
)

// classificationInUse is the 409 of a classification that keys or routes
// still name, naming them.
func classificationInUse(e *keystore.InUseError) *httpapi.Error {
	var todo []string
	if len(e.Keys) > 0 {
		todo = append(todo, "revoke the keys")
	}
	if len(e.Routes) > 0 {
		todo = append(todo, "change or delete the routes")
	}
	return &httpapi.Error{Status: 409, Code: "classification_in_use",
		Message: e.Error() + "; " + strings.Join(todo, " and ") + " first"}
}

// storeErrors maps the key store's sentinels to what the admin API answers.
var storeErrors = []struct {
	err error
	ae  *httpapi.Error
}{
	{keystore.ErrProjectNotFound, errProjectNotFound},
	{keystore.ErrKeyNotFound, errKeyNotFound},
	{keystore.ErrRouteNotFound, errRouteNotFound},
	{keystore.ErrClassificationNotFound, errClassificationNotFound},
	{keystore.ErrClassificationExists, errClassificationExists},
	{keystore.ErrClassificationLimit, errClassificationLimit},
	{keystore.ErrNotFound, httpapi.ErrNotFound},
	{keystore.ErrKeyLimit, errKeyLimit},
	{keystore.ErrGraceLimit, errGraceLimit},
	{keystore.ErrRouteLimit, errRouteLimit},
	{keystore.ErrUnauthorized, errUnauthorized},
	{keystore.ErrNotCaughtUp, errNotCaughtUp},
	{keystore.ErrEtcdFull, errEtcdFull},
	{keystore.ErrStoreUnavailable, errStoreUnavailable},
	{keystore.ErrConflict, errStoreBusy},
	{keystore.ErrStorageFull, errStorageFull},
}

// toAPIError is the admin listener's one table from errors to answers.
// Unexpected errors become httpapi.ErrInternal (and are logged by
// httpapi.WriteError).
func toAPIError(err error) (*httpapi.Error, bool) {
	var ae *httpapi.Error
	var fe *keystore.FieldError
	var iu *keystore.InUseError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &fe):
		return httpapi.BadRequest(fe.Error()), true
	case errors.As(err, &iu):
		return classificationInUse(iu), true
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.err) {
			return m.ae, true
		}
	}
	return httpapi.ErrInternal, false
}
