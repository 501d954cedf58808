package proxy

import (
	"bytes"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// errIndexRequest is the 400 of a malformed index request.
var errIndexRequest = &apiError{Status: 400, Code: "invalid_request", Message: `the body must be a JSON object with "field" (a field path) and "data" (a string, number, boolean or null), and optionally "normalize" (exact, lower, lower_trim or digits) and "bytes" (4 to 32)`}

// serveIndex is POST /api-v1/v1/index: {"field": "email", "data":
// "Ann@Example.com", "normalize": "lower_trim", "bytes": 16} in,
// {"data": "<index>"} out ({"data": null} for a null), the value that
// a request indexing the same field the same way writes beside it, so an
// app can query its own database. It needs the encrypt permission: who
// can encrypt can index. The event names the field, never the value.
func (d *Data) serveIndex(ctx *fasthttp.RequestCtx, st *reqState) error {
	body, err := d.directBody(ctx, st, modeEncrypt)
	if err != nil {
		return err
	}
	r, raw, err := indexRequest(body)
	if err != nil {
		return err
	}
	x, err := fieldcrypt.IndexFromRules([]fieldcrypt.IndexRule{r})
	if err != nil {
		return invalidIndex(err)
	}
	field := x.Rules()[0].Field
	st.h.fields = []byte(field) // the event's field list
	st.data = d
	key, err := st.IndexKey(x.KeyPath(0))
	if err != nil {
		return err
	}
	out := append(st.buf[:0], `{"data":"`...)
	out, null, err := fieldcrypt.AppendIndex(out, key, r, raw)
	if err != nil {
		return indexAPIError(err)
	}
	if null {
		out = append(out[:len(out)-1], "null"...)
	} else {
		out = append(out, '"')
	}
	st.reqValues = 1
	st.buf = append(out, "}\n"...)
	ctx.SetStatusCode(200)
	ctx.SetContentType("application/json")
	ctx.SetBody(st.buf)
	return nil
}

// indexRequest reads the index request's rule and data from a valid JSON
// body.
func indexRequest(body []byte) (fieldcrypt.IndexRule, []byte, error) {
	var r fieldcrypt.IndexRule
	if !gjson.GetBytes(body, "@this").IsObject() {
		return r, nil, errIndexRequest
	}
	field, data := gjson.GetBytes(body, "field"), gjson.GetBytes(body, "data")
	norm, size := gjson.GetBytes(body, "normalize"), gjson.GetBytes(body, "bytes")
	switch {
	case field.Type != gjson.String || !data.Exists():
		return r, nil, errIndexRequest
	case norm.Exists() && norm.Type != gjson.String:
		return r, nil, errIndexRequest
	case size.Exists() && (size.Type != gjson.Number || size.Num != float64(int(size.Num))):
		return r, nil, errIndexRequest
	}
	n, err := fieldcrypt.ParseNormalization(norm.String())
	if err != nil {
		return r, nil, invalidIndex(err)
	}
	r = fieldcrypt.IndexRule{Field: field.String(), Normalize: n, Bytes: int(size.Num)}
	if size.Exists() && r.Bytes == 0 {
		return r, nil, errIndexRequest
	}
	return r, body[data.Index : data.Index+len(data.Raw)], nil
}

// directIndexed is the direct encrypt with X-Qanapi-Index: data must be
// an object or array with fields, each indexed field among them.
func (d *Data) directIndexed(out []byte, st *reqState, raw []byte, composite bool, fields fieldcrypt.Fields) ([]byte, error) {
	x, err := d.indexes.parse(st, nil, bytes.TrimSpace(st.h.index))
	if err != nil {
		return out, err
	}
	if st.mode != modeEncrypt || !composite || fields.Len() == 0 {
		return out, errIndexMode
	}
	if name := x.CoveredBy(fields); name != "" {
		return out, indexNotEncrypted(name)
	}
	if err := indexOverwrites(x, fields); err != nil {
		return out, err
	}
	st.data = d
	out, err = fieldcrypt.EncryptIndexed(out, raw, fields, x, st, &st.params)
	return out, indexAPIError(err)
}
