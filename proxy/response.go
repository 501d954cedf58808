package proxy

import (
	"bytes"
	"errors"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/internal/bodycodec"
	"github.com/sdproxy/sdproxy/keystore"
)

// respPlan is the response phase of one request: which fields of the
// upstream's answer to transform, and how.
type respPlan struct {
	active bool
	ran    bool // the answer was transformed
	// left: a decrypting phase passed the answer on as it was, every
	// token in it unopened (a limit of one request), and says how many.
	left bool
	// bare: an answer with no body to transform (HEAD, 204, 304…) that
	// the phase would have transformed: its headers are a transformed
	// answer's (keyDependent), without the upstream's validators and
	// digests, which describe a body the client would not get (in
	// encrypt mode, the plaintext).
	bare               bool
	mode               mode
	fields, listFields fieldcrypt.Fields
	names              []byte // for the event: the paths, comma-joined
}

// respCounts is what the response phase did.
type respCounts struct {
	values, untransformed int
}

// planResponse works out the response phase from the route's response
// rule and X-Qanapi-Response-Fields / -Mode, before anything is
// forwarded, so a conflict is refused early.
func (d *Data) planResponse(st *reqState) error {
	hdrFields := bytes.TrimSpace(st.h.respFields)
	hdrMode := bytes.TrimSpace(st.h.respMode)
	var rule *phase
	if st.route != nil {
		rule = st.route.response
	}
	if rule == nil && len(hdrFields) == 0 {
		if len(hdrMode) > 0 {
			return errInvalidRespMode // a mode with nothing to apply it to is a mistake
		}
		return nil
	}
	p := &st.resp
	p.active, p.mode = true, modeDecrypt
	if len(hdrMode) > 0 {
		m, ok := parseMode(hdrMode)
		if !ok {
			return errInvalidRespMode
		}
		if rule != nil && m != rule.mode {
			return errRouteConflict
		}
		p.mode = m
	}
	p.names = st.respNames[:0]
	if rule != nil {
		p.mode = rule.mode
	}
	if pr := st.principal; p.mode == modeEncrypt && (!pr.CanEncrypt ||
		len(pr.Classifications) > 0 && !slices.Contains(pr.Classifications, keystore.NoClassification)) {
		// Minting tokens of chosen plaintext needs the encrypt permission,
		// and the answer's tokens are of no classification: a key limited
		// to others may not make them, as it may not on a request.
		return errPermission
	}
	if rule != nil {
		p.fields, p.listFields = rule.fields, rule.listFields
		if len(hdrFields) == 0 {
			p.names = rule.nameBytes // shared, read only
			return nil
		}
		p.names = append(append(p.names, rule.names...), ',')
	}
	p.names = append(p.names, hdrFields...)
	st.respNames = p.names
	var err error
	if p.fields, err = d.fields.parse(p.names); err != nil {
		return err
	}
	// A list answer: the paths in every element (see phase).
	st.scratch = fieldcrypt.AppendListNames(st.scratch[:0], p.fields)
	p.listFields, err = d.fields.parse(st.scratch)
	return err
}

// prepareUpstream asks the upstream for an uncompressed, whole answer
// when the response phase will transform it: a byte range of a document
// can be a document of its own ({"ssn": …} cut out of {"profile":
// {"ssn": …}}) in which the phase's paths name nothing. A read (GET,
// HEAD) whose answer the phase transforms for this key goes without its
// preconditions: the client never sees the upstream's validators (they
// describe the untransformed answer), so If-None-Match and the like
// could only be guesses, and a 304 or 412 would tell a guess of the
// upstream's ETag (often a hash of the body, the plaintext when the
// phase encrypts) from a miss. A write keeps them (If-Match guards
// against lost updates, If-None-Match: * against overwrites).
func (st *reqState) prepareUpstream(req *fasthttp.Request) {
	if !st.resp.active {
		return
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Del(fasthttp.HeaderRange)
	req.Header.Del(fasthttp.HeaderIfRange)
	if m := req.Header.Method(); st.respTransforms() &&
		(bytes.EqualFold(m, []byte(fasthttp.MethodGet)) || bytes.EqualFold(m, []byte(fasthttp.MethodHead))) {
		req.Header.Del(fasthttp.HeaderIfNoneMatch)
		req.Header.Del(fasthttp.HeaderIfModifiedSince)
		req.Header.Del(fasthttp.HeaderIfMatch)
		req.Header.Del(fasthttp.HeaderIfUnmodifiedSince)
	}
}

// respTransforms reports whether the response phase transforms answers
// for this key: it encrypts, or it decrypts and the key may see the
// values (in clear or masked).
func (st *reqState) respTransforms() bool {
	p, pr := &st.resp, st.principal
	return p.active && (p.mode == modeEncrypt || pr.CanDecrypt || pr.CanDecryptMasked)
}

// transformResponse applies the response phase to the upstream's answer,
// already copied to ctx.Response. Decrypt follows the key: plaintext with
// the decrypt permission, a masked string with decrypt_masked (each
// token's classification's mask; the default mask for a slug the project
// no longer defines), the tokens
// unchanged with neither; values that are not tokens pass, tokens that
// cannot be opened stay (counted in X-Qanapi-Untransformed). Encrypt
// refuses (502) an answer it cannot parse, rather than pass plaintext on.
//
// It works on resp before it is copied to the client, so a refusal passes
// nothing of the upstream's answer on.
func (d *Data) transformResponse(ctx *fasthttp.RequestCtx, st *reqState, resp *fasthttp.Response) error {
	p := &st.resp
	if !st.respTransforms() {
		return nil // no phase, or the key may not see plaintext: tokens go back as they are
	}
	pr := st.principal
	if ctx.IsHead() {
		p.bare = true // the headers a GET would have
		return nil
	}
	if p.mode == modeDecrypt {
		// Revoked or expired (or its project deleted) while the request
		// waited for the upstream: no token is opened for a key that no
		// longer authenticates, and nothing of the answer is passed on
		// (401, not counted against the address: no key was guessed).
		if err := d.store.StillAuthenticates(pr); err != nil {
			return err
		}
	}
	if p.mode == modeEncrypt && resp.StatusCode() == fasthttp.StatusPartialContent {
		return notTransformable("is a byte range of a document (206), in which the fields cannot be found") // asked whole, answered in part
	}
	if len(bytes.TrimSpace(resp.Body())) == 0 {
		p.bare = true // 204, 304…: nothing to transform, and no validator of the upstream's
		return nil
	}
	body, err := d.decodeResponse(st, resp)
	if err != nil || !isJSON(body) {
		if p.mode == modeEncrypt && len(bytes.TrimSpace(resp.Body())) > 0 {
			if err != nil {
				return notTransformable("could not be decoded per its Content-Encoding within the response limit")
			}
			return errNotTransform
		}
		return nil // nothing this phase can read: no token is opened, nothing leaks
	}
	if err := d.setParams(st); err != nil {
		return err
	}
	st.params.Allow = allowClass(pr)
	fields := p.fields
	if firstByte(body) == '[' {
		fields = p.listFields
	}
	var out []byte
	if p.mode == modeEncrypt {
		st.params.Classification = ""
		out, err = fieldcrypt.Encrypt(st.rbuf[:0], body, fields, &st.params)
		if err != nil {
			return subjectErr(err, notTransformableBy(err))
		}
		st.respResult.values = st.params.Values
	} else {
		var o fieldcrypt.RevealOptions
		if !pr.CanDecrypt { // each value masked by its classification's mask
			o.Mask = &fieldcrypt.DefaultMask // of a slug the project no longer defines
			st.maskProject = append(st.maskProject[:0], st.project.ID...)
			o.MaskFor = st.maskFor
		}
		var c fieldcrypt.RevealCounts
		out, c, err = fieldcrypt.Reveal(st.rbuf[:0], body, fields, &st.params, o)
		if errors.Is(err, fieldcrypt.ErrTooManyValues) || errors.Is(err, fieldcrypt.ErrOutputTooLarge) {
			// Too many tokens, or too long opened, for one request: the
			// answer goes on as it was (nothing of it is lost, no token
			// is opened), saying how many tokens it still holds.
			p.left, st.respResult = true, respCounts{untransformed: c.Untransformed}
			return nil
		}
		if err != nil {
			return nil // not a document Reveal can walk: leave it
		}
		st.rbuf = out
		if c.Erased > 0 {
			return errSubjectErased // nothing of the answer is passed on
		}
		if err := d.spendBudget(ctx, st, c.Opened); err != nil {
			return err // nothing of the answer is passed on
		}
		st.respResult = respCounts{values: c.Opened, untransformed: c.Untransformed}
	}
	st.rbuf = out
	resp.SetBodyRaw(out)
	resp.Header.Del(fasthttp.HeaderContentEncoding)
	p.ran = true // forward marks the answer keyDependent once copied
	return nil
}

// keyDependent marks an answer whose body now depends on the caller's key
// (plaintext, masks or tokens): no shared cache may keep it or serve it to
// another key. copyResponse has left out every header of the upstream's
// that lets a cache keep it, each of its lines (cacheHeader): a second
// Cache-Control line, or a CDN's own, would still be obeyed; and its
// validators, which no longer describe it.
func keyDependent(h *fasthttp.ResponseHeader) {
	h.Set(fasthttp.HeaderCacheControl, "private, no-store")
	h.Add(fasthttp.HeaderVary, HeaderAuthorization)
}

// cacheHeader reports whether k is a header by which an upstream tells
// caches how long to keep an answer, or how to validate it, or that
// describes its body: the cacheLifetime ones, the *-CDN-Cache-Control
// family (Cloudflare's, Vercel's…), ETag, Last-Modified and the body's
// digests (bodyDigest), none of which fits a body the response phase
// wrote, and which, of an answer it encrypts, are derived from the
// plaintext.
func cacheHeader(k []byte) bool {
	for _, h := range cacheLifetime {
		if equalFold(k, h) {
			return true
		}
	}
	for _, h := range bodyDigest {
		if equalFold(k, h) {
			return true
		}
	}
	return equalFold(k, fasthttp.HeaderETag) || equalFold(k, fasthttp.HeaderLastModified) || hasSuffixFold(k, "-cdn-cache-control")
}

// bodyDigest are the headers that carry a digest of an answer's body or
// representation (RFC 1864, RFC 3230, RFC 9530).
var bodyDigest = []string{"Content-MD5", "Digest", "Content-Digest", "Repr-Digest"}

// cacheLifetime are the headers, other than the *-CDN-Cache-Control
// family, by which an upstream tells caches how long to keep an answer.
var cacheLifetime = []string{fasthttp.HeaderCacheControl, "CDN-Cache-Control", "Surrogate-Control",
	"Edge-Control", "X-Accel-Expires", fasthttp.HeaderExpires}

func hasSuffixFold(s []byte, suffix string) bool {
	return len(s) >= len(suffix) && bytes.EqualFold(s[len(s)-len(suffix):], []byte(suffix))
}

// decodeResponse returns the upstream's body, decoded per its
// Content-Encoding within the response limit.
func (d *Data) decodeResponse(st *reqState, resp *fasthttp.Response) ([]byte, error) {
	body := resp.Body()
	enc := resp.Header.ContentEncoding()
	if len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")) {
		return body, nil
	}
	out, err := bodycodec.Decode(st.rdec[:0], body, enc, d.upstreams.opts.MaxResponseBytes)
	if err != nil {
		return nil, err
	}
	st.rdec = out
	return out, nil
}

// isJSON reports whether b starts like a JSON object or array (the
// transform validates the rest).
func isJSON(b []byte) bool {
	c := firstByte(b)
	return c == '{' || c == '['
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
