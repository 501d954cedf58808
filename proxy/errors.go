package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// apiError is an error with its HTTP status and public code.
type apiError = httpapi.Error

// Errors the data listener answers. Every authentication failure is
// errUnauthorized, byte for byte.
// errConnect answers CONNECT on /proxy/{id}/…: sdproxy forwards HTTP
// requests, not tunnels.
var errConnect = &httpapi.Error{Status: 405, Code: "method_not_allowed", Message: "CONNECT is not forwarded: sdproxy forwards HTTP requests, not tunnels"}

var (
	errUnauthorized          = &apiError{Status: 401, Code: "unauthorized", Message: "missing or invalid credentials"}
	errInvalidMode           = &apiError{Status: 400, Code: "invalid_mode", Message: "X-Qanapi-Mode must be encrypt or decrypt"}
	errInvalidJSON           = &apiError{Status: 400, Code: "invalid_json", Message: "the body is not valid JSON"}
	errTooDeep               = &apiError{Status: 400, Code: "invalid_json", Message: "the JSON body is nested more than " + strconv.Itoa(fieldcrypt.MaxDepth) + " levels deep"}
	errDuplicateKey          = &apiError{Status: 400, Code: "invalid_json", Message: "the JSON body has an object with a duplicate key"}
	errFieldInArray          = &apiError{Status: 400, Code: "field_in_array", Message: "a field to transform names an object key where the body has an array of objects (items.card with \"items\": [{\"card\": …}]); name the elements with * (items.*.card), or *.card for a body that is a list"}
	errDottedKey             = &apiError{Status: 400, Code: "ambiguous_field", Message: "the body has a key with dots that spells a field to transform (\"profile.email\" for profile.email, or \"email.x\" for email); stores that expand dotted keys (MongoDB updates, Elasticsearch) would read it as that field, in plaintext"}
	errCaseVariant           = &apiError{Status: 400, Code: "ambiguous_field", Message: "the body has a key that differs from a field to transform only in letter case, Unicode normalisation or word separators (userSsn, USER-SSN for user_ssn); upstreams that match keys without regard to case, by canonical equivalence, or after converting key styles, would read it as that field, in plaintext"}
	errInvalidFields         = &apiError{Status: 400, Code: "invalid_fields", Message: "the field list is malformed (comma-separated dot paths, e.g. user.email,items.*.card)"}
	errInvalidClass          = &apiError{Status: 400, Code: "invalid_classification", Message: "X-Qanapi-Classification must be a slug: a-z, 0-9, - and _, at most " + strconv.Itoa(keystore.MaxSlugLen) + " characters"}
	errNoData                = &apiError{Status: 400, Code: "invalid_request", Message: `the body must be a JSON object with a "data" member`}
	errEncoded               = &apiError{Status: 415, Code: "unsupported_content_encoding", Message: "compressed bodies cannot be transformed safely; send the body uncompressed (Content-Encoding: identity)"}
	errPermission            = &apiError{Status: 403, Code: "permission_denied", Message: "this API key is not allowed to do that"}
	errClassMismatch         = &apiError{Status: 403, Code: "classification_mismatch", Message: "a token's classification does not match X-Qanapi-Classification"}
	errDestination           = &apiError{Status: 403, Code: "destination_not_allowed", Message: "X-Qanapi-Destination is not one of the project's allowed destinations"}
	errDestinationResolved   = &apiError{Status: 403, Code: "destination_not_allowed", Message: "X-Qanapi-Destination's host name resolves only to loopback, link-local, unspecified or multicast addresses, to which sdproxy does not forward: allow such a destination by its address"}
	errAmbiguousPath         = &apiError{Status: 400, Code: "invalid_path", Message: "the path reads differently to different upstreams (an escaped slash %2F, an escaped ? or # that a server decoding the path again ends it at, or a segment's ;parameters, which some servers cut and others keep) and the project's routes match each reading differently, so no one route's rules can be applied safely"}
	errInvalidPath           = &apiError{Status: 400, Code: "invalid_path", Message: "the path has a backslash, a control character (such as %00 or %0A), a Unicode space or invisible character (such as %C2%85) or a dot segment with parameters (such as ..;), which upstreams may resolve differently, even outside the project's base path"}
	errNotAToken             = &apiError{Status: 422, Code: "not_a_token", Message: "a value to decrypt is not a token (qanapi:…:$)"}
	errDecryptFailed         = &apiError{Status: 422, Code: "decrypt_failed", Message: "a token could not be decrypted"}
	errUnknownClass          = &apiError{Status: 422, Code: "unknown_classification", Message: "the project defines no classification with the slug this request names (X-Qanapi-Classification or the route's); define it with the admin API first"}
	errAuthLimited           = &apiError{Status: 429, Code: "rate_limited", Message: "too many failed authentications from this address; retry later"}
	errTooManyValues         = &apiError{Status: 413, Code: "too_many_values", Message: "the request names more field values than one request may transform (limits.max_values)"}
	errOutputTooBig          = &apiError{Status: 413, Code: "body_too_large", Message: "the transformed body would be larger than the configured limit (limits.max_output_bytes)"}
	errOverrideUnreadable    = &apiError{Status: 415, Code: "unsupported_content_encoding", Message: "in a project that has routes, a POST's body must be sent uncompressed or as gzip, deflate or br, so that a _method in it cannot take the request past the routes"}
	errNotJSONType           = &apiError{Status: 415, Code: "unsupported_media_type", Message: "a body whose fields are encrypted must be sent as JSON in UTF-8: a Content-Type of application/json (or another …/json or …+json type), with no charset but utf-8, or none; an upstream would read another type or charset differently from what was sealed"}
	errFieldInQuery          = &apiError{Status: 400, Code: "field_in_query", Message: "a query parameter names a field to encrypt (its top-level key, as frameworks that merge the query with the body read it): its value would reach the upstream in plaintext; send it in the body"}
	errUnsupportedCoding     = &apiError{Status: 415, Code: "unsupported_content_encoding", Message: "this Content-Encoding cannot be decoded to transform the body; send it uncompressed, or as gzip, deflate or br"}
	errBadEncoding           = &apiError{Status: 400, Code: "invalid_request", Message: "the body could not be decoded per its Content-Encoding"}
	errDirectMode            = &apiError{Status: 400, Code: "invalid_mode", Message: "X-Qanapi-Mode contradicts the path: /api-v1/v1/encrypt and /api-v1/v1/index encrypt, /api-v1/v1/decrypt decrypts; leave the header out"}
	errDirectHeader          = &apiError{Status: 400, Code: "invalid_request", Message: "X-Qanapi-Destination, X-Qanapi-Response-Fields and X-Qanapi-Response-Mode are for /proxy requests: the direct API forwards nothing and answers the transformed data; leave them out"}
	errInvalidRespMode       = &apiError{Status: 400, Code: "invalid_mode", Message: "X-Qanapi-Response-Mode must be encrypt or decrypt, and goes with X-Qanapi-Response-Fields or a route's response rule"}
	errDestinationWithRoutes = &apiError{Status: 400, Code: "route_conflict", Message: "X-Qanapi-Destination cannot be used in a project that has routes: the routes apply to the project's upstream paths"}
	errRouteBroken           = &apiError{Status: 500, Code: "route_unavailable", Message: "the route that matches this request cannot be applied (see the server's log); nothing was forwarded"}
	errTwoEncodings          = &apiError{Status: 400, Code: "invalid_request", Message: "Content-Encoding was sent more than once: send one header listing the codings in order (gzip, or identity)"}
	errMethodOverride        = &apiError{Status: 400, Code: "route_conflict", Message: "method overrides (X-HTTP-Method-Override and the like, or a _method query parameter, or in a POST's body a _method member or form field) cannot be used in a project that has routes"}
	errRouteConflict         = &apiError{Status: 400, Code: "route_conflict", Message: "a header contradicts the project's route for this path (its mode, response mode or classification); headers may add fields to a route, never remove or change them"}
	errNotTransform          = &apiError{Status: 502, Code: "response_not_transformable", Message: "the upstream's answer is not JSON, so the fields the rule asks to encrypt could not be; nothing of it was passed on"}
	errRateLimited           = &apiError{Status: 429, Code: "rate_limited", Message: "rate limit exceeded for this API key; retry after the time in Retry-After"}
	errBudgetExhausted       = &apiError{Status: 429, Code: "decrypt_budget_exhausted", Message: "this API key's decrypt budget cannot cover the values of this request in the current window; nothing was decrypted; retry after the time in Retry-After (encrypting still works)"}

	errStoreUnavailable    = &apiError{Status: 503, Code: "store_unavailable", Message: "this instance has lost contact with its store for too long to trust its API keys; retry later or on another instance"}
	errEtcdFull            = &apiError{Status: 503, Code: "store_unavailable", Message: "the store (etcd) is full; retry later"}
	errStorageFull         = &apiError{Status: 503, Code: "store_unavailable", Message: "the data directory's disk is full; retry later"}
	errStoreBusy           = &apiError{Status: 503, Code: "store_busy", Message: "too many concurrent changes to the store; retry"}
	errUpstreamUnreachable = &apiError{Status: 502, Code: "upstream_unreachable", Message: "the upstream could not be reached or gave no valid answer"}
	errUpstreamTLS         = &apiError{Status: 502, Code: "upstream_tls_failed", Message: "the TLS handshake with the upstream failed: its certificate could not be verified (unknown CA, wrong name, expired) or it offers no TLS 1.2 or later"}
	errUpstreamClientCert  = &apiError{Status: 502, Code: "upstream_tls_failed", Message: "the upstream asked for a client certificate and closed the connection: it did not accept the project's client certificate (upstream_client_cert), or the project has none"}
	errUpstreamTimeout     = &apiError{Status: 504, Code: "upstream_timeout", Message: "the upstream did not answer in time"}
)

// dataErrors maps the errors of fieldcrypt and the key store to what
// clients see.
var dataErrors = []struct {
	err error
	ae  *apiError
}{
	{fieldcrypt.ErrInvalidJSON, errInvalidJSON},
	{fieldcrypt.ErrTooDeep, errTooDeep},
	{fieldcrypt.ErrDuplicateKey, errDuplicateKey},
	{fieldcrypt.ErrCaseVariantKey, errCaseVariant},
	{fieldcrypt.ErrDottedKey, errDottedKey},
	{fieldcrypt.ErrFieldInArray, errFieldInArray},
	{fieldcrypt.ErrNotAToken, errNotAToken},
	{fieldcrypt.ErrDecryptFailed, errDecryptFailed},
	{fieldcrypt.ErrClassificationMismatch, errClassMismatch},
	{fieldcrypt.ErrTooManyValues, errTooManyValues},
	{fieldcrypt.ErrOutputTooLarge, errOutputTooBig},
	{keystore.ErrUnauthorized, errUnauthorized},
	{keystore.ErrEtcdFull, errEtcdFull},
	{keystore.ErrStoreUnavailable, errStoreUnavailable},
	{keystore.ErrConflict, errStoreBusy},
	{keystore.ErrBudgetExhausted, errBudgetExhausted},
	{keystore.ErrStorageFull, errStorageFull},
	{fieldcrypt.ErrSubjectErased, errSubjectErased},
	{keystore.ErrSubjectErased, errSubjectErased},
}

// toAPIError is the data listener's one table from errors to answers.
// Unexpected errors become httpapi.ErrInternal; httpapi.WriteError logs
// every answer of 500 or more.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	if errors.Is(err, fieldcrypt.ErrInvalidFields) {
		return invalidFields(err), true
	}
	for _, m := range dataErrors {
		if errors.Is(err, m.err) {
			return m.ae, true
		}
	}
	return httpapi.ErrInternal, false
}

// notTransformable is errNotTransform saying why.
func notTransformable(why string) *apiError {
	return &apiError{Status: 502, Code: errNotTransform.Code, Message: "the upstream's answer " + why +
		", so the fields the rule asks to encrypt could not be; nothing of it was passed on"}
}

// notTransformableBy is notTransformable for an error of fieldcrypt.Encrypt
// on the upstream's answer.
func notTransformableBy(err error) *apiError {
	for _, m := range []struct {
		err error
		why string
	}{
		{fieldcrypt.ErrTooManyValues, "holds more values to encrypt than one request may transform (limits.max_values)"},
		{fieldcrypt.ErrOutputTooLarge, "would be larger, encrypted, than one request may write (limits.max_output_bytes)"},
		{fieldcrypt.ErrFieldInArray, "has an array of objects or arrays where a path names a key (name its elements with *, as items.*.card)"},
		{fieldcrypt.ErrCaseVariantKey, "has a key that differs from a field to encrypt only in letter case, Unicode normalisation or word separators"},
		{fieldcrypt.ErrDottedKey, "has a key with dots that spells a field to encrypt"},
		{fieldcrypt.ErrDuplicateKey, "repeats a key in an object"},
		{fieldcrypt.ErrTooDeep, "is nested deeper than 32 levels"},
		{fieldcrypt.ErrInvalidJSON, "is not valid JSON"},
	} {
		if errors.Is(err, m.err) {
			return notTransformable(m.why)
		}
	}
	return errNotTransform
}

// invalidFields is errInvalidFields naming the path and what is wrong
// with it, when fieldcrypt said (`"$.ssn": JSONPath is not path syntax
// here: write ssn…`): the client's own field names, never a value.
func invalidFields(err error) *apiError {
	detail, ok := strings.CutPrefix(err.Error(), fieldcrypt.ErrInvalidFields.Error()+": ")
	if !ok {
		return errInvalidFields
	}
	return &apiError{Status: 400, Code: errInvalidFields.Code, Message: "the field list is malformed: " + detail}
}

// upstreamError maps an error of the upstream client to 502 or 504.
func upstreamError(err error) *apiError {
	if errors.Is(err, errDestinationAddress) {
		return errDestinationResolved
	}
	var ne net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.As(err, &ne) && ne.Timeout() {
		return errUpstreamTimeout
	}
	if isTLSFailure(err) {
		return errUpstreamTLS
	}
	return errUpstreamUnreachable
}

// isTLSFailure reports whether err is a failed TLS handshake: a
// certificate that does not verify, or an alert from the upstream (such
// as no common protocol version), which crypto/tls reports as a
// *net.OpError of Op "remote error" (or "local error" for one it sent).
func isTLSFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error") {
		return true
	}
	var (
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &record)
}

// fail answers err through the table.
func (d *Data) fail(ctx *fasthttp.RequestCtx, err error) {
	httpapi.WriteError(ctx, d.log, toAPIError, err)
}

// ServerErrorHandler answers requests fasthttp could not read (malformed,
// too slow) with the same JSON errors as the handler, request id
// included. No body is refused here for its size: bodies are streamed
// (ConfigureServer), and the handler reads them after authentication.
func (d *Data) ServerErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	start := d.now()
	d.ids.Stamp(ctx)
	ae := httpapi.ServerError(err)
	d.fail(ctx, ae)
	setServerTiming(&ctx.Response.Header, d.since(start), 0, false)
	ctx.SetConnectionClose()
}

// unknownHeader is the 400 for an X-Qanapi-* request header that is not
// one of AcceptedHeaders: a misspelt X-Qanapi-Fields must not let a field
// through in plaintext.
func unknownHeader(name []byte) error {
	if len(name) > 64 {
		name = append(name[:61:61], "..."...)
	}
	return &apiError{Status: 400, Code: "unknown_header", Message: "unknown header " + string(name) + "; accepted: " + acceptedList}
}

// acceptedList names the accepted X-Qanapi-* request headers.
var acceptedList = strings.Join(qanapiHeaders[:], ", ")

// fieldMissing is the 422 of a route's required path that the body lacks.
func fieldMissing(path string) error {
	return &apiError{Status: 422, Code: "field_missing", Message: "the body lacks " + path + ", which the project's route requires"}
}

// fieldMissingAt is fieldMissing for element i of a list body.
func fieldMissingAt(path string, i int) error {
	return &apiError{Status: 422, Code: "field_missing", Message: "element " + strconv.Itoa(i) + " of the list body lacks " + path + ", which the project's route requires of every element"}
}
