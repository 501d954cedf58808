// Package console serves sdproxy's web console under /ui/ on the admin
// listener: static files embedded in the binary that talk to the admin API
// with the admin token the user signs in with.
package console

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

//go:embed static
var files embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// Console serves the embedded files.
type Console struct {
	root fs.FS
	ids  *httpapi.RequestIDs
}

// New returns the console handler.
func New() *Console {
	root, err := fs.Sub(files, "static")
	if err != nil {
		panic("console: " + err.Error()) // the embed pattern guarantees the folder
	}
	return &Console{root: root, ids: httpapi.NewRequestIDs("ui")}
}

// Handler serves GET/HEAD /ui/… ; /ui and /ui/ serve index.html. Errors
// answer in the admin API's JSON shape.
func (c *Console) Handler(ctx *fasthttp.RequestCtx) {
	c.ids.Stamp(ctx)
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		httpapi.WriteError(ctx, nil, httpapi.Own, httpapi.ErrMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(string(ctx.Path()), strings.TrimSuffix(Prefix, "/"))
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(c.root, name)
	if err != nil {
		httpapi.WriteError(ctx, nil, httpapi.Own, httpapi.ErrNotFound)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := &ctx.Response.Header
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// A page that opened the console gets no handle on it (it could
	// otherwise change its address).
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	ctx.SetBody(b)
}
