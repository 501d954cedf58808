// Package httpapi holds what both of sdproxy's listeners need to answer
// HTTP: the error type and its JSON envelope, request ids, and JSON
// writing. It knows nothing of the store, the event log or the crypto.
package httpapi
