package proxy

import (
	"encoding/base64"
	"errors"

	"github.com/tidwall/gjson"

	"github.com/sdproxy/sdproxy/events"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/keystore"
)

// Errors of subjects (crypto-shredding).
var (
	errSubjectErased  = &apiError{Status: 422, Code: "subject_erased", Message: "the data subject of this request or of a token was erased: its values can no longer be sealed or opened"}
	errInvalidSubject = &apiError{Status: 400, Code: "invalid_subject", Message: "X-Qanapi-Subject must be 1 to 256 bytes"}
)

// setSubject makes the request's seals subject seals when it names a
// subject: X-Qanapi-Subject, or the value of the route's subject_field.
// Only the subject's reference (a keyed hash) goes into the tokens. With
// the subject's reference cached it does not allocate.
func (d *Data) setSubject(st *reqState, kr *keystore.Keyring) error {
	id := st.h.subject
	if id == nil || st.mode != modeEncrypt && !(st.resp.active && st.resp.mode == modeEncrypt) {
		return nil // nothing is sealed: the subject has no effect
	}
	ref, err := kr.SubjectRef(id)
	switch {
	case errors.Is(err, keystore.ErrInvalid):
		return errInvalidSubject
	case err != nil:
		return err
	}
	st.subjectRef = ref
	st.params.SubjectRef = st.subjectRef[:]
	return nil
}

// subjectErr is errSubjectErased when err says a subject is erased, else
// otherwise.
func subjectErr(err error, otherwise error) error {
	if errors.Is(err, fieldcrypt.ErrSubjectErased) {
		return errSubjectErased
	}
	return otherwise
}

// recordSubject puts the reference of the request's subject, never its
// id, into its event.
func (st *reqState) recordSubject(r *events.Request) {
	if st.params.SubjectRef == nil {
		return
	}
	st.scratch = base64.RawURLEncoding.AppendEncode(st.scratch[:0], st.subjectRef[:])
	r.SetSubject(st.scratch)
}

// routeSubject takes the request's subject from the body field that the
// route's subject_field names: it must be a non-empty string (else 400
// naming the field). A X-Qanapi-Subject header must then name the same
// subject (else 400 route_conflict: a header never changes a route).
func (st *reqState) routeSubject(body []byte) error {
	if st.route == nil || st.route.request == nil || st.route.request.subjectField == "" {
		return nil
	}
	f := st.route.request.subjectField
	v := gjson.GetBytes(body, st.route.request.subjectPath)
	if v.Type != gjson.String || v.Str == "" {
		return &apiError{Status: 400, Code: "invalid_subject", Message: "the route takes the data subject from the field " + f + ", which must be a non-empty string"}
	}
	if st.h.subject != nil && string(st.h.subject) != v.Str {
		return errRouteConflict
	}
	st.h.subject = []byte(v.Str)
	return nil
}

// directSubject takes the subject of a direct API call from the body's
// "subject" member, when there is one: a non-empty string, and, with an
// X-Qanapi-Subject header too, the same subject.
func (st *reqState) directSubject(body []byte) error {
	v := gjson.GetBytes(body, "subject")
	if !v.Exists() {
		return nil
	}
	if v.Type != gjson.String || v.Str == "" {
		return &apiError{Status: 400, Code: "invalid_subject", Message: `"subject" must be a non-empty string`}
	}
	if st.h.subject != nil && string(st.h.subject) != v.Str {
		return &apiError{Status: 400, Code: "invalid_subject", Message: `"subject" and X-Qanapi-Subject name different subjects`}
	}
	st.h.subject = []byte(v.Str)
	return nil
}
