package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// errAdminHost answers a request to a loopback admin listener that names
// another host: a web page whose name was re-pointed at 127.0.0.1 (DNS
// rebinding) must not read /metrics, the health endpoints or the console
// from the operator's browser.
var errAdminHost = &httpapi.Error{Status: 421, Code: "misdirected_request",
	Message: "the admin listener listens on loopback and answers only requests for localhost, a loopback address or SDPROXY_ADMIN_ADVERTISE's host"}

// loopbackHostGuard wraps the admin listener's handler. When the listener
// is bound to a loopback address (the default), a request whose Host is
// not localhost (or a name under .localhost), a loopback IP or the host of
// advertise is refused with 421; a request without a Host passes (no
// browser sends one). Bound to any other address, the listener was opened
// to the network on purpose, and every Host passes.
func loopbackHostGuard(bound net.Addr, advertise string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	tcp, ok := bound.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return next
	}
	var advertised string
	if u, err := url.Parse(advertise); err == nil && advertise != "" {
		advertised = strings.ToLower(u.Hostname())
	}
	ids := httpapi.NewRequestIDs("adm")
	return func(ctx *fasthttp.RequestCtx) {
		host := ctx.Request.Header.Host()
		refused := len(host) > 0 && !loopbackHost(string(host), advertised)
		if uri := ctx.Request.Header.RequestURI(); len(uri) > 0 && uri[0] != '/' && uri[0] != '*' {
			// Absolute form (GET http://host/… HTTP/1.1): its authority,
			// not Host, names the target (RFC 9112 §3.2.2); both must be
			// this machine's.
			refused = refused || !loopbackHost(string(ctx.Request.URI().Host()), advertised)
		}
		if refused {
			var id [32]byte
			ctx.Response.Header.Set(httpapi.HeaderRequestID, string(ids.Next(id[:0])))
			httpapi.WriteError(ctx, nil, func(error) (*httpapi.Error, bool) { return errAdminHost, true }, errAdminHost)
			return
		}
		next(ctx)
	}
}

// loopbackHost reports whether the Host header value host (a name or an
// IP, with or without a port) names this machine's loopback, or is the
// advertised host.
func loopbackHost(host, advertised string) bool {
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		// SplitHostPort does not check the port: "localhost:1@attacker"
		// would read as localhost.
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if ip := net.ParseIP(name); ip != nil {
		return ip.IsLoopback()
	}
	return name == "localhost" || strings.HasSuffix(name, ".localhost") || advertised != "" && name == advertised
}
