package proxy

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"
)

// HeaderReceived is the data listener's fasthttp.Server.HeaderReceived:
// before a large (or chunked) body is read, the key is checked from the
// headers; without a valid one the body limit drops to UnauthBodyBytes, so
// a caller without a key cannot make the server reserve or read a large
// body. Small bodies are read as usual and the handler authenticates.
func (d *Data) HeaderReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if cl := h.ContentLength(); cl >= 0 && cl <= d.unauthMax {
		return fasthttp.RequestConfig{}
	}
	if d.keyErr(h) == nil {
		return fasthttp.RequestConfig{}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: d.unauthMax, ReadTimeout: unauthReadTimeout}
}

// unauthReadTimeout bounds reading what is left of a request whose key is
// not valid.
const unauthReadTimeout = 5 * time.Second

// keyErr is nil when the request's X-Qanapi-Authorization is an active
// key of the /proxy/{id} project the request names (for the direct API:
// of any project, since the key names it), else the store's error:
// keystore.ErrUnauthorized, or keystore.ErrStoreUnavailable when the
// store cannot vouch for any key (the caller's key may be valid).
func (d *Data) keyErr(h *fasthttp.RequestHeader) error {
	var key []byte
	for k, v := range h.All() {
		if equalFold(k, HeaderAuthorization) {
			key = v
			break
		}
	}
	var err error
	if project := proxyProject(h.RequestURI()); project != nil {
		_, err = d.store.Authenticate(project, key) // a key of this very project
	} else {
		_, err = d.store.AuthenticateKey(key)
	}
	return err
}

// proxyProject returns the project id of a raw /proxy/{id}/… request URI,
// or nil.
func proxyProject(uri []byte) []byte {
	rest, ok := bytes.CutPrefix(uri, []byte(pathProxy))
	if !ok {
		return nil
	}
	if i := bytes.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
