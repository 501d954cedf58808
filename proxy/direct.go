package proxy

import (
	"bytes"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// serveDirect is POST /api-v1/v1/encrypt and /decrypt: {"data": …,
// "fields": […]} in, {"data": …} out. Without fields (or with a scalar
// data) encrypt turns data into one token, and decrypt opens every token
// in data.
func (d *Data) serveDirect(ctx *fasthttp.RequestCtx, st *reqState, m mode) error {
	body, err := d.directBody(ctx, st, m)
	if err != nil {
		return err
	}
	data := gjson.GetBytes(body, "data")
	if !gjson.GetBytes(body, "@this").IsObject() || !data.Exists() {
		return errNoData
	}
	raw := body[data.Index : data.Index+len(data.Raw)]
	fields, err := directFields(body, st.h.fields)
	if err != nil {
		return err
	}
	if gjson.GetBytes(body, "fields").Exists() {
		// The event names the body's fields too, as it names the header's.
		st.names = st.names[:0]
		for i, name := range fields.Names() {
			if i > 0 {
				st.names = append(st.names, ',')
			}
			st.names = append(st.names, name...)
		}
		st.h.fields = st.names
	}
	if err := st.directSubject(body); err != nil {
		return err
	}
	if err := d.setParams(st); err != nil {
		return err
	}
	out := append(st.buf[:0], `{"data":`...)
	if len(st.h.index) > 0 {
		out, err = d.directIndexed(out, st, raw, data.IsObject() || data.IsArray(), fields)
	} else {
		out, err = transformData(out, raw, data.IsObject() || data.IsArray(), fields, st.mode, &st.params)
	}
	st.buf = out
	if err != nil {
		return err
	}
	if st.mode == modeDecrypt {
		if err := d.spendBudget(ctx, st, st.params.Values); err != nil {
			return err
		}
	}
	st.reqValues = st.params.Values // the event counts them, as the proxy's
	st.buf = append(st.buf, "}\n"...)
	ctx.SetStatusCode(200)
	ctx.SetContentType("application/json")
	ctx.SetBody(st.buf)
	return nil
}

// directBody admits a direct-API request in mode m (key, permission,
// limits) and returns its body: a POST whose body is valid JSON.
func (d *Data) directBody(ctx *fasthttp.RequestCtx, st *reqState, m mode) ([]byte, error) {
	if err := d.admit(ctx, st, nil, m); err != nil {
		return nil, err
	}
	if err := st.h.directOnly(m); err != nil {
		return nil, err
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		return nil, httpapi.ErrMethodNotAllowed
	}
	if err := d.checkBody(ctx); err != nil {
		return nil, err
	}
	body := ctx.Request.Body()
	if err := fieldcrypt.Validate(body); err != nil {
		return nil, err
	}
	return body, nil
}

// directFields reads "fields" from the body and X-Qanapi-Fields: either,
// or both (the header adds its paths to the body's, as it adds to a
// route's).
func directFields(body, header []byte) (fieldcrypt.Fields, error) {
	f := gjson.GetBytes(body, "fields")
	if !f.Exists() {
		if len(header) == 0 {
			return fieldcrypt.Fields{}, nil
		}
		return fieldcrypt.ParseFields(string(header))
	}
	if !f.IsArray() {
		return fieldcrypt.Fields{}, errInvalidFields
	}
	var list []string
	for _, v := range f.Array() {
		if v.Type != gjson.String {
			return fieldcrypt.Fields{}, errInvalidFields
		}
		list = append(list, v.String())
	}
	if len(bytes.TrimSpace(header)) > 0 {
		hf, err := fieldcrypt.ParseFields(string(header))
		if err != nil {
			return fieldcrypt.Fields{}, err
		}
		list = append(list, hf.Names()...) // canonical spellings parse back to the same paths
	}
	return fieldcrypt.FieldsFromList(list)
}

// transformData appends the transformed data value to out.
func transformData(out, raw []byte, composite bool, f fieldcrypt.Fields, m mode, p *fieldcrypt.Params) ([]byte, error) {
	switch {
	case m == modeEncrypt && (!composite || f.Len() == 0):
		var err error
		out, err = fieldcrypt.SealValue(append(out, '"'), raw, p)
		p.Values = 1
		return append(out, '"'), err
	case m == modeEncrypt:
		return fieldcrypt.Encrypt(out, raw, f, p)
	case f.Len() == 0 || !composite:
		return fieldcrypt.DecryptAll(out, raw, p)
	}
	return fieldcrypt.Decrypt(out, raw, f, p)
}

// directOnly refuses the headers of the proxy that the direct API has no
// use for, rather than ignore what the caller meant: X-Qanapi-Mode other
// than the path's (the path says what is done; a mode that agrees is
// allowed, as headers copied from a proxy call carry it), and
// X-Qanapi-Destination and the response phase's headers (nothing is
// forwarded, and the answer is the transformed data).
func (q *qHeaders) directOnly(m mode) error {
	if len(q.mode) > 0 {
		if hm, ok := parseMode(q.mode); !ok || hm != m {
			return errDirectMode
		}
	}
	if len(q.dest) > 0 || len(q.respFields) > 0 || len(q.respMode) > 0 {
		return errDirectHeader
	}
	return nil
}
