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
)

//go:embed static
var files embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// Console serves the embedded files.
type Console struct {
	root fs.FS
}

// New returns the console handler.
func New() *Console {
	root, err := fs.Sub(files, "static")
	if err != nil {
		panic("console: " + err.Error()) // the embed pattern guarantees the folder
	}
	return &Console{root: root}
}

// Handler serves GET/HEAD /ui/… ; /ui and /ui/ serve index.html.
func (c *Console) Handler(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Error("method not allowed", 405)
		return
	}
	name := strings.TrimPrefix(string(ctx.Path()), strings.TrimSuffix(Prefix, "/"))
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(c.root, name)
	if err != nil {
		ctx.Error("not found", 404)
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
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	ctx.SetBody(b)
}
