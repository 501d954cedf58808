package proxy

import (
	"log/slog"

	"github.com/valyala/fasthttp"
)

// DataOptions configure NewData.
type DataOptions struct {
	// Logger receives unexpected errors. Nil means slog.Default().
	Logger *slog.Logger
}

// Data serves the data listener: the Smart Data Proxy and the direct API.
type Data struct {
	log *slog.Logger
	ids requestIDs
}

// NewData returns the data-plane handler.
func NewData(o DataOptions) *Data {
	d := &Data{log: o.Logger}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.ids.prefix = newIDPrefix("req")
	return d
}

// Handler serves one data-plane request.
func (d *Data) Handler(ctx *fasthttp.RequestCtx) {
	setRequestID(ctx, &d.ids)
	writeError(ctx, d.log, errNotFound)
}
