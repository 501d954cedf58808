package proxy

import (
	"bytes"
	"errors"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/bodycodec"
	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// serveProxy is ANY /proxy/{project-id}[/{rest}]: authenticate, find the
// project's route, transform the request's fields (the route's and
// X-Qanapi-Fields), then forward to the allowed destination or the
// project's upstream and transform the answer's fields (the route's and
// X-Qanapi-Response-Fields), or answer with the transformed body.
func (d *Data) serveProxy(ctx *fasthttp.RequestCtx, st *reqState, rest []byte) error {
	project, path := rest, []byte(nil)
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		project, path = rest[:i], rest[i:]
	}
	if err := d.authenticate(ctx, st, project); err != nil {
		return err
	}
	if ctx.IsConnect() {
		// An upstream that answers CONNECT by opening a tunnel would
		// leave a pooled connection no longer speaking HTTP.
		return errConnect
	}
	st.scratch = append(st.scratch[:0], st.project.ID...)
	var routed bool
	var pathErr error
	st.route, routed, pathErr = d.matchRoute(st.scratch, ctx.Method(), path, ctx.URI().PathOriginal(), project)
	if err := d.checkRouted(ctx, st, routed); err != nil {
		return err
	}
	m, err := st.requestMode()
	if err != nil {
		return err
	}
	if err := d.authorize(ctx, st, m); err != nil {
		return err
	}
	if st.route != nil && st.route.broken {
		return errRouteBroken // after the rate limit: each one is logged
	}
	if err := d.checkBodyOverride(ctx, st, routed); err != nil {
		return err
	}
	if !safePath(path) {
		return errInvalidPath
	}
	if pathErr != nil {
		return pathErr // after the rate limit, as errInvalidPath
	}
	if err := d.planResponse(st); err != nil {
		return err
	}
	if err := d.checkBudget(ctx, st); err != nil {
		return err
	}
	body, err := d.transformBody(ctx, st)
	if err != nil {
		return err
	}
	url, c, err := d.resolveTarget(ctx, st, project, path)
	if err != nil {
		return err
	}
	if st.mode == modeDecrypt {
		// Spent here, when nothing but sending the plaintext on can fail
		// any more: a request refused before (403
		// destination_not_allowed…) decrypted nothing for anyone.
		if err := d.spendBudget(ctx, st, st.decrypted); err != nil {
			return err
		}
		st.reqValues = st.decrypted
	}
	if url == nil {
		ctx.SetStatusCode(200)
		if len(ctx.Request.Header.ContentType()) > 0 {
			ctx.Response.Header.SetContentTypeBytes(ctx.Request.Header.ContentType())
		}
		ctx.SetBody(body)
		return nil
	}
	return d.forward(ctx, st, c, url, body)
}

// methodOverride are headers some frameworks take as the request's real
// method: a GET route's rules must not apply to what the upstream treats
// as a POST.
var methodOverride = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// checkRouted refuses, in a project that has routes (routed), what would
// let a request escape them: an X-Qanapi-Destination (the route matched
// the proxy path, the request would go elsewhere), method-override
// headers (with '-' or '_') and a _method query parameter.
func (d *Data) checkRouted(ctx *fasthttp.RequestCtx, st *reqState, routed bool) error {
	if !routed {
		return nil
	}
	if len(bytes.TrimSpace(st.h.dest)) > 0 {
		return errDestinationWithRoutes
	}
	for k := range ctx.Request.Header.All() {
		for _, h := range methodOverride {
			if equalFoldDash(k, h) {
				return errMethodOverride
			}
		}
	}
	if hasMethodArg(ctx.QueryArgs()) { // Symfony and Laravel read _method from the query too
		return errMethodOverride
	}
	return nil
}

// checkBodyOverride refuses, in a project that has routes, a POST (in any
// letter case) whose body carries a "_method": a top-level member of a
// JSON object (any escaping of the key), a field of a urlencoded form or
// a part of a multipart one (see bodyHasMethod). Laravel, Symfony and
// Rails take it as the real method of a POST, as they do the query's, so
// a PUT route's rules would not apply to what the upstream treats as a
// PUT. It runs after the rate limit. A compressed body is looked at both
// decoded and as sent (an upstream may read either), and one sdproxy
// cannot decode is refused (a coding it does not read, a corrupt stream,
// over max_body_bytes decoded; Content-Encoding sent twice).
func (d *Data) checkBodyOverride(ctx *fasthttp.RequestCtx, st *reqState, routed bool) error {
	if !routed || !bytes.EqualFold(ctx.Method(), []byte(fasthttp.MethodPost)) {
		return nil
	}
	body := ctx.Request.Body()
	if len(body) == 0 {
		return nil
	}
	if len(ctx.Request.Header.PeekAll(fasthttp.HeaderContentEncoding)) > 1 {
		return errTwoEncodings // only the first would be read here, an upstream may read both
	}
	ct := ctx.Request.Header.ContentType()
	if enc := ctx.Request.Header.ContentEncoding(); len(enc) > 0 && !bytes.EqualFold(enc, []byte("identity")) {
		if !bodycodec.Supported(enc) {
			return errOverrideUnreadable
		}
		out, err := bodycodec.Decode(st.dec[:0], body, enc, d.maxBody)
		switch {
		case errors.Is(err, bodycodec.ErrTooLarge):
			return httpapi.ErrBodyTooLarge
		case err != nil:
			return errBadEncoding
		}
		st.dec = out // not st.decoded: the body goes on as sent unless transformed
		if bodyHasMethod(out, ct) {
			return errMethodOverride
		}
	}
	if bodyHasMethod(body, ct) {
		return errMethodOverride
	}
	return nil
}

// hasMethodArg reports whether args hold a _method parameter (see
// isMethodParam).
func hasMethodArg(args *fasthttp.Args) bool {
	for k := range args.All() {
		if isMethodParam(k) {
			return true
		}
	}
	return false
}

// isMethodParam reports whether a query or form parameter's (or a
// multipart part's) name is _method as some framework reads it: in any
// letter case; also as _method[] or _method;; with leading spaces and a
// '.' or a space for the '_' (PHP drops the one and turns the others into
// '_'); with brackets around it or after it (Rack 2's [_method] and
// _method]).
func isMethodParam(k []byte) bool {
	k = bytes.TrimLeft(k, " [")
	if i := bytes.IndexAny(k, "[];"); i >= 0 {
		k = k[:i]
	}
	if len(k) != len("_method") || k[0] != '_' && k[0] != '.' && k[0] != ' ' {
		return false
	}
	return equalFold(k[1:], "method")
}

// mayHoldMethodKey reports whether body may have a "_method" key: as
// written, or spelt with an escape of one of its letters (\u005f for _,
// \u0065 for e…). Only then is the body parsed to look (a top-level key?),
// so that "payment_method" or escaped accents (\u00e9) cost a byte search.
func mayHoldMethodKey(body []byte) bool {
	if bytes.Contains(body, []byte(`"_method"`)) {
		return true
	}
	for b := body; ; b = b[4:] {
		i := bytes.Index(b, []byte(`\u00`))
		if i < 0 || i+6 > len(b) {
			return false
		}
		b = b[i:]
		hi, lo := b[4], lowerASCII(b[5])
		if hi == '5' && lo == 'f' || hi == '6' && (lo == 'd' || lo == '5' || lo == '8' || lo == 'f' || lo == '4') || hi == '7' && lo == '4' {
			return true // _ (5f); m e h o d (6d 65 68 6f 64); t (74)
		}
	}
}

// requestMode is the request phase's mode: the route's when it has a
// request rule (a contradicting X-Qanapi-Mode is route_conflict), else
// X-Qanapi-Mode (default encrypt). A request that a route matched, or
// that names response fields only, and that names no field of its own
// transforms nothing on the way in: 0, and no mode's permission is needed
// (a read with a decrypt-only or decrypt_masked key).
func (st *reqState) requestMode() (mode, error) {
	given := len(bytes.TrimSpace(st.h.mode)) > 0
	hm, ok := parseMode(st.h.mode)
	if !ok {
		return 0, errInvalidMode
	}
	if r := st.route; r != nil {
		if r.request != nil {
			if given && hm != r.request.mode {
				return 0, errRouteConflict
			}
			return r.request.mode, nil
		}
		if !given && len(bytes.TrimSpace(st.h.fields)) == 0 {
			return 0, nil
		}
	} else if !given && len(bytes.TrimSpace(st.h.fields)) == 0 && len(bytes.TrimSpace(st.h.respFields)) > 0 {
		return 0, nil // a read that only transforms the answer, as through a GET route
	}
	return hm, nil
}

// requestFields returns the request phase's fields: the route's, plus any
// X-Qanapi-Fields adds; ok is false when there are none.
func (d *Data) requestFields(st *reqState) (f fieldcrypt.Fields, ok bool, err error) {
	hdr := bytes.TrimSpace(st.h.fields)
	var rule *phase
	if st.route != nil {
		rule = st.route.request
	}
	switch {
	case rule == nil && len(hdr) == 0:
		return f, false, nil
	case rule == nil:
		f, err = d.fields.parse(hdr)
		return f, err == nil, err
	case len(hdr) == 0:
		return rule.fields, true, nil
	}
	st.names = append(append(append(st.names[:0], rule.names...), ','), hdr...)
	f, err = d.fields.parse(st.names)
	return f, err == nil, err
}

// listRequestFields are the request phase's paths f for a body that is a
// list: in every element (fieldcrypt.AppendListNames), as the response
// phase reads a list answer.
func (d *Data) listRequestFields(st *reqState, f fieldcrypt.Fields) (fieldcrypt.Fields, error) {
	if st.route != nil && st.route.request != nil && len(bytes.TrimSpace(st.h.fields)) == 0 {
		return st.route.request.listFields, nil
	}
	st.scratch = fieldcrypt.AppendListNames(st.scratch[:0], f)
	return d.fields.parse(st.scratch)
}

// requestNames are the request phase's field paths for the event.
func (st *reqState) requestNames() []byte {
	if st.route == nil || st.route.request == nil {
		return st.h.fields
	}
	if len(bytes.TrimSpace(st.h.fields)) > 0 {
		return st.names // merged by requestFields
	}
	return st.route.request.nameBytes
}

// transformBody encrypts or decrypts the request phase's fields. Without
// fields, or with an empty body, the body is returned as it is. A
// compressed body is decoded first (within max_body_bytes) and forwarded
// decoded. A body that cannot be transformed is refused; it is never
// passed on.
func (d *Data) transformBody(ctx *fasthttp.RequestCtx, st *reqState) ([]byte, error) {
	body := ctx.Request.Body()
	fields, ok, err := d.requestFields(st)
	if err != nil {
		return body, err
	}
	index, err := d.requestIndex(st, fields, ok)
	if !ok || err != nil {
		return body, err
	}
	if st.mode == modeEncrypt && ctx.QueryArgs().Len() > 0 && queryNamesField(ctx.QueryArgs(), fields) {
		return nil, errFieldInQuery
	}
	if body, err = d.decodeRequest(ctx, st, body); err != nil {
		return nil, err
	}
	// A list body, encrypting without blind indexes: the paths, and what
	// the route requires, apply in every element, as for a list answer.
	list := st.mode == modeEncrypt && index.Len() == 0 && firstByte(body) == '['
	if err := st.checkRequired(body, list); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	ct := ctx.Request.Header.ContentType()
	if st.mode == modeEncrypt && !safeContentType(ct) {
		return nil, errNotJSONType
	}
	if err := st.routeSubject(body); err != nil {
		return nil, err
	}
	if err := d.setParams(st); err != nil {
		return nil, err
	}
	if list {
		if fields, err = d.listRequestFields(st, fields); err != nil {
			return nil, err
		}
	}
	var out []byte
	if st.mode == modeEncrypt {
		out, err = d.encrypt(st, body, fields, index)
	} else {
		out, err = fieldcrypt.Decrypt(st.buf[:0], body, fields, &st.params)
	}
	st.buf = out
	if err != nil {
		return nil, err
	}
	if st.mode == modeEncrypt && isForm(ct) && formNamesField(out, fields) {
		return nil, errNotJSONType
	}
	if st.mode == modeDecrypt {
		// Spent by serveProxy once the target is known, and counted
		// then: a decrypt refused before released no value.
		st.decrypted = st.params.Values
	} else {
		st.reqValues = st.params.Values
	}
	return out, nil
}

// decodeRequest returns the request body decoded per its
// Content-Encoding, refusing what is over max_body_bytes decoded (a zip
// bomb stops there) or in a coding sdproxy cannot read.
func (d *Data) decodeRequest(ctx *fasthttp.RequestCtx, st *reqState, body []byte) ([]byte, error) {
	enc := ctx.Request.Header.ContentEncoding()
	if len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")) {
		if len(body) > d.maxBody {
			return nil, httpapi.ErrBodyTooLarge
		}
		return body, nil
	}
	if !bodycodec.Supported(enc) {
		return nil, errUnsupportedCoding
	}
	out, err := bodycodec.Decode(st.dec[:0], body, enc, d.maxBody)
	switch {
	case errors.Is(err, bodycodec.ErrTooLarge):
		return nil, httpapi.ErrBodyTooLarge
	case err != nil:
		return nil, errBadEncoding
	}
	st.dec, st.decoded = out, true
	return out, nil
}

// checkRequired refuses a body that lacks a path the route requires; of
// a list body (list), every element must hold it.
func (st *reqState) checkRequired(body []byte, list bool) error {
	if st.route == nil || st.route.request == nil {
		return nil
	}
	for _, p := range st.route.request.require {
		path := gjsonPath(p)
		if !list {
			if !gjson.GetBytes(body, path).Exists() {
				return fieldMissing(p)
			}
			continue
		}
		// A list body: every element must hold it, as the route's fields
		// apply in every element.
		i, missing := 0, -1
		gjson.ParseBytes(body).ForEach(func(_, v gjson.Result) bool {
			if !v.IsObject() || !v.Get(path).Exists() {
				missing = i
				return false
			}
			i++
			return true
		})
		if missing >= 0 {
			return fieldMissingAt(p, missing)
		}
	}
	return nil
}

// gjsonPath turns a field path (dots, `\.` for a dot inside a key) into
// gjson's syntax, escaping the characters gjson treats specially.
func gjsonPath(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 < len(p) {
				b = append(b, '\\', p[i+1])
				i++
				continue
			}
			b = append(b, '\\', '\\')
		case '*', '?', '#', '@', '|', '!', '=', '<', '>', '%', '(', ')', '[', ']', '{', '}', ',', ':', '"':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// safeContentType reports whether a request whose body is sealed may go
// upstream with Content-Type ct. sdproxy reads the body as UTF-8 JSON; an
// upstream reads it by its Content-Type. With charset=utf-7, Django REST
// framework's JSONParser (codecs.getreader(request.encoding)) reads
// {"x":"+ACIALAAi…-"} as {"x":"","ssn":…}, a field sdproxy never saw; so
// a charset other than utf-8 or us-ascii is refused (every charset
// parameter, quoted or not, RFC 2231's charset* too), as are multipart
// types and a media type that is not one token (PHP reads a list up to its
// first ',' or ' '). A form (application/x-www-form-urlencoded, which
// curl -d sends by default) is read as one after sealing: see formNamesField.
func safeContentType(ct []byte) bool {
	if len(bytes.TrimSpace(ct)) == 0 {
		return true
	}
	mt, params, _ := bytes.Cut(ct, []byte{';'})
	mt = bytes.Trim(mt, " \t")
	if bytes.Count(mt, []byte{'/'}) != 1 || mt[0] == '/' {
		return false
	}
	for _, c := range mt {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '.' || c == '-' || c == '+' || c == '_') {
			return false // a list, a quote…
		}
	}
	if len(mt) >= 10 && bytes.EqualFold(mt[:10], []byte("multipart/")) {
		return false
	}
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		name, val, _ := bytes.Cut(p, []byte{'='})
		name = bytes.Trim(name, " \t")
		if len(name) < 7 || !bytes.EqualFold(name[:7], []byte("charset")) {
			continue
		}
		val = bytes.Trim(val, " \t")
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if !bytes.EqualFold(val, []byte("utf-8")) && !bytes.EqualFold(val, []byte("utf8")) && !bytes.EqualFold(val, []byte("us-ascii")) {
			return false
		}
	}
	return true
}

// isForm reports whether Content-Type ct is application/x-www-form-urlencoded.
func isForm(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte{';'})
	return bytes.EqualFold(bytes.Trim(mt, " \t"), []byte("application/x-www-form-urlencoded"))
}

// formNamesField reports whether body, the sealed JSON, read as the form
// its Content-Type says it is, has a parameter that is a field to encrypt
// (see queryNamesField): {"x":"&ssn=123-45-6789&"} holds ssn in plaintext
// for PHP's $_POST, Go's ParseForm, Express or Rails.
func formNamesField(body []byte, f fieldcrypt.Fields) bool {
	args := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(args)
	args.ParseBytes(body)
	return queryNamesField(args, f)
}

// queryNamesField reports whether a query parameter is, as frameworks that
// merge the query with a JSON body read it (Rails' and Laravel's params,
// Spring's @RequestParam), the top-level key of a field to encrypt: its
// name cut at a '[' (user[ssn] is user's), in any letter case, and with
// '.', ' ' and '-' read as '_' (PHP's $_GET reads user.ssn as user_ssn).
// Such a value would reach the upstream in plaintext beside the sealed
// body, or in place of a field the body leaves out.
func queryNamesField(args *fasthttp.Args, f fieldcrypt.Fields) bool {
	for k := range args.All() {
		if i := bytes.IndexByte(k, '['); i >= 0 {
			k = k[:i]
		}
		k = bytes.TrimLeft(k, " ")
		for i := range f.NumPaths() {
			if first, ok := f.FirstKey(i); ok && equalFoldSep(k, first) {
				return true
			}
		}
	}
	return false
}

// equalFoldSep is ASCII case-insensitive equality with '.', ' ', '-' and
// '_' all equal.
func equalFoldSep(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := lowerASCII(a[i]), lowerASCII(b[i])
		if x == '.' || x == ' ' || x == '-' {
			x = '_'
		}
		if y == '.' || y == ' ' || y == '-' {
			y = '_'
		}
		if x != y {
			return false
		}
	}
	return true
}
