// Package proxy holds sdproxy's HTTP handlers on fasthttp: the data plane
// (the Smart Data Proxy and the direct encrypt/decrypt API) and the admin
// API. It declares the small interfaces it needs of the key store; the
// store's concrete types satisfy them.
package proxy
