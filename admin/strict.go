package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/sdproxy/sdproxy/internal/httpapi"
)

// checkMembers reads the JSON value body against the Go type t it is to
// be decoded into, and refuses what encoding/json would let through
// silently: a member named in another letter case than its field's JSON
// name ({"Permissions": …} beside {"permissions": …}), a member given
// twice (encoding/json keeps the last), a string where a number is wanted
// (json.Number takes "10"), and anything after the value. Errors name the
// member by its path (decrypt_budget.values). Values of type
// json.RawMessage are left to their handler.
func checkMembers(body []byte, t reflect.Type, path string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walkMembers(dec, t, path); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return httpapi.BadRequest("body must hold one JSON object")
	}
	return nil
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
)

// walkMembers reads one value from dec, t its Go type (nil when unknown:
// only duplicate members are looked for then).
func walkMembers(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return notJSON(err)
	}
	if t == rawMessageType {
		return skipValue(dec, tok)
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return notJSON(err)
			}
			key, _ := k.(string)
			at := joinPath(path, key)
			if seen[key] {
				return httpapi.BadRequest(at + ": given twice")
			}
			seen[key] = true
			var ft reflect.Type
			switch {
			case fields != nil:
				var ok bool
				if ft, ok = fields[key]; !ok {
					return httpapi.BadRequest(at + ": unknown field" + didYouMean(fields, key))
				}
			case t != nil && t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if err := walkMembers(dec, ft, at); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return notJSON(err)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkMembers(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return notJSON(err)
	}
	if _, isString := tok.(string); isString && t == numberType {
		return httpapi.BadRequest(path + ": wrong type, want a number")
	}
	return nil
}

// skipValue reads the rest of the value that began with tok.
func skipValue(dec *json.Decoder, tok json.Token) error {
	depth := 0
	for {
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
		var err error
		if tok, err = dec.Token(); err != nil {
			return notJSON(err)
		}
	}
}

// notJSON is the 400 for a body the tokenizer could not read, nil for nil.
func notJSON(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return httpapi.BadRequest("body is not valid JSON for this call: " + err.Error())
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// didYouMean names the field that key spells in another letter case.
func didYouMean(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return ` (names are case-sensitive: "` + name + `")`
		}
	}
	return ""
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of struct type t's fields, as
// encoding/json names them (tags, embedded structs), to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(m, t)
	fieldCache.Store(t, m)
	return m
}

func addFields(m map[string]reflect.Type, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			addFields(m, f.Type)
		case !f.IsExported():
		case name == "":
			m[f.Name] = f.Type
		default:
			m[name] = f.Type
		}
	}
}
