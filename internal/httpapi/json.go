package httpapi

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// WriteJSON answers status with v encoded as JSON and a newline. It is for
// the admin listener; the data plane writes its answers by hand.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}
