// Package routematch finds the route rule that applies to a request: the
// first route, in evaluation order, whose method list and path pattern
// match. The data plane (proxy) and the control plane's preview (admin)
// share it, so a preview names the route the proxy would apply.
//
// It imports only the standard library.
package routematch
