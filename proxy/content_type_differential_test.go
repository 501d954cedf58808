package proxy

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/sdproxy/sdproxy/keystore"
)

// utf7Decode decodes RFC 2152 UTF-7 as Python's utf-7 codec (used by
// Django REST framework's JSONParser for a request's charset) does.
func utf7Decode(t *testing.T, b []byte) string {
	t.Helper()
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '+' {
			out.WriteByte(b[i])
			continue
		}
		j := i + 1
		for j < len(b) && strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", b[j]) >= 0 {
			j++
		}
		if j == i+1 { // "+-" is a plus
			out.WriteByte('+')
			i = j
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(string(b[i+1 : j]))
		if err != nil && len(raw) == 0 {
			t.Fatalf("utf-7: %v", err)
		}
		raw = raw[:len(raw)/2*2]
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out.WriteString(string(utf16.Decode(u)))
		i = j
		if i < len(b) && b[i] != '-' {
			i-- // the ending character is itself
		}
	}
	return out.String()
}

func utf7Encode(s string) string {
	var raw []byte
	for _, u := range utf16.Encode([]rune(s)) {
		raw = append(raw, byte(u>>8), byte(u))
	}
	return "+" + base64.RawStdEncoding.EncodeToString(raw) + "-"
}

// TestFormBodyNamingAFieldRefused: a body that is valid JSON (so sdproxy
// seals what it names, here nothing: "ssn" is no JSON key in it) sent as
// application/x-www-form-urlencoded would be read by the upstream's form
// parser (PHP $_POST, Go's ParseForm, Express urlencoded, Rails params)
// as ssn=123-45-6789, a named field in plaintext: it is refused 415 and
// nothing is sent.
func TestFormBodyNamingAFieldRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"x":"&ssn=123-45-6789&"}`
	r := e.do("POST", "/proxy/"+p.ID+"/signup", body,
		HeaderAuthorization, key, HeaderFields, "ssn", "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 415 || r.code() != "unsupported_media_type" || len(up.requests()) != 0 {
		t.Errorf("a form whose sealed body names ssn = %d %s, upstream got %d requests; want 415 unsupported_media_type and nothing sent", r.status, r.body, len(up.requests()))
	}
	// What an upstream would have read from it, for the record.
	if form, err := url.ParseQuery(body); err != nil || form.Get("ssn") != "123-45-6789" {
		t.Fatalf("the test body read as a form = %v, %v: want ssn in it", form, err)
	}
}

// TestCharsetUTF7Refused: sdproxy reads the body as UTF-8 whatever the
// Content-Type's charset; Django REST framework's JSONParser decodes it by
// the charset (codecs.getreader(request.encoding)). With charset=utf-7 the
// upstream would read {"x":"","ssn":"123-45-6789"}: the named field ssn in
// plaintext, which sdproxy, reading {"x":"+ACIALAAi…-"}, never saw. It is
// refused 415 and nothing is sent.
func TestCharsetUTF7Refused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"x":"` + utf7Encode(`","ssn":"123-45-6789`) + `"}`
	if read := utf7Decode(t, []byte(body)); !strings.Contains(read, `"ssn":"123-45-6789"`) {
		t.Fatalf("the test body read as UTF-7 = %s, want ssn in it", read)
	}
	r := e.do("POST", "/proxy/"+p.ID+"/signup", body,
		HeaderAuthorization, key, HeaderFields, "ssn", "Content-Type", "application/json; charset=utf-7")
	if r.status != 415 || r.code() != "unsupported_media_type" || len(up.requests()) != 0 {
		t.Errorf("charset=utf-7 = %d %s, upstream got %d requests; want 415 unsupported_media_type and nothing sent", r.status, r.body, len(up.requests()))
	}
}

// TestContentTypeVariants: which Content-Types a sealed body may carry.
// JSON types in UTF-8 (or none) pass; others, and lists a lenient parser
// cuts (PHP reads up to the first ',' or ' '), are refused before anything
// is sent.
func TestContentTypeVariants(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789","x":"&ssn=123-45-6789&"}`
	for ct, ok := range map[string]bool{
		"application/json":                                    true,
		"APPLICATION/JSON; Charset=\"UTF-8\"":                 true,
		"application/vnd.api+json":                            true,
		"text/json; charset=utf8":                             true,
		"application/x-www-form-urlencoded":                   false,
		"multipart/form-data; boundary=B":                     false,
		"text/plain":                                          true,
		"application/json; charset=utf-7":                     false,
		"application/json; charset=utf-8; charset=utf-7":      false,
		"application/json;charset=\"base64\"":                 false,
		"application/json; charset*=utf-7''":                  false,
		"application/x-www-form-urlencoded, application/json": false,
		"application/x-www-form-urlencoded application/json":  false,
		"application/json-patch":                              true,
	} {
		n := len(up.requests())
		r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", "Content-Type", ct)
		sent := len(up.requests()) > n
		switch {
		case ok && (r.status != 200 || !sent):
			t.Errorf("Content-Type %q: %d %s, want 200 and forwarded", ct, r.status, r.body)
		case !ok && (r.status < 400 || sent || r.status != 415 && !strings.HasPrefix(ct, "multipart/")):
			t.Errorf("Content-Type %q: %d %s (forwarded: %v), want 415 unsupported_media_type (fasthttp refuses a multipart body itself), nothing sent", ct, r.status, r.body, sent)
		}
	}
	// curl -d's default type passes when the body, read as a form, names no field.
	if r := e.do("POST", "/proxy/"+p.ID+"/x", `{"ssn":"1&x=y","a":"b=c"}`, HeaderAuthorization, key, HeaderFields, "ssn", "Content-Type", "application/x-www-form-urlencoded"); r.status != 200 {
		t.Errorf("a JSON body as a form naming no field: %d %s, want 200", r.status, r.body)
	}
	// Decrypt mode and bodies without fields are not concerned.
	if r := e.do("POST", "/proxy/"+p.ID+"/x", "a=1", HeaderAuthorization, key, "Content-Type", "application/x-www-form-urlencoded"); r.status != 200 {
		t.Errorf("a form without fields: %d %s, want 200", r.status, r.body)
	}
}
