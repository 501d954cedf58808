package fieldcrypt

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// nested returns n nested arrays around v.
func nested(n int, v string) string {
	return strings.Repeat("[", n) + v + strings.Repeat("]", n)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, nil},
		{"spaces", " \t\n{ \"a\" : [ 1 , 2 ] }\r\n", nil},
		{"scalars", `"x"`, nil},
		{"numbers", `[0,-0,1.5,-2e10,3E+2,4e-3,123456789012345678901234567890]`, nil},
		{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"`, nil},
		{"unicode", `{"ключ":"値 😀"}`, nil},
		{"empty containers", `[{},[],""]`, nil},
		{"depth 32", nested(32, "1"), nil},
		{"depth 32 objects", strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32), nil},
		{"depth 33", nested(33, "1"), ErrTooDeep},
		{"depth 33 objects", strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), ErrTooDeep},
		{"duplicate", `{"a":1,"a":2}`, ErrDuplicateKey},
		{"duplicate escaped", `{"a":1,"\u0061":2}`, ErrDuplicateKey},
		{"duplicate nested", `[{"x":{"a":1,"b":2,"a":3}}]`, ErrDuplicateKey},
		{"same key in siblings", `[{"a":1},{"a":2}]`, nil},
		{"same key nested", `{"a":{"a":{"a":1}}}`, nil},
		{"empty", ``, ErrInvalidJSON},
		{"only space", `  `, ErrInvalidJSON},
		{"trailing", `{} {}`, ErrInvalidJSON},
		{"trailing comma", `[1,]`, ErrInvalidJSON},
		{"trailing comma object", `{"a":1,}`, ErrInvalidJSON},
		{"missing colon", `{"a" 1}`, ErrInvalidJSON},
		{"single quotes", `{'a':1}`, ErrInvalidJSON},
		{"unquoted key", `{a:1}`, ErrInvalidJSON},
		{"leading zero", `01`, ErrInvalidJSON},
		{"bare minus", `-`, ErrInvalidJSON},
		{"dot no digits", `1.`, ErrInvalidJSON},
		{"exp no digits", `1e`, ErrInvalidJSON},
		{"plus", `+1`, ErrInvalidJSON},
		{"NaN", `NaN`, ErrInvalidJSON},
		{"bad literal", `tru`, ErrInvalidJSON},
		{"literal suffix", `nullx`, ErrInvalidJSON},
		{"control char", "\"a\x01b\"", ErrInvalidJSON},
		{"bad escape", `"\x"`, ErrInvalidJSON},
		{"short unicode", `"\u12"`, ErrInvalidJSON},
		{"bad utf8", "\"\xff\"", ErrInvalidJSON},
		{"unterminated", `"abc`, ErrInvalidJSON},
		{"unclosed", `[1,2`, ErrInvalidJSON},
		{"unopened", `]`, ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate([]byte(tt.doc)); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Validate(%q) = %v, want %v", tt.doc, err, tt.want)
			}
		})
	}
}

// TestValidateLargeObject exercises the sorted duplicate check.
func TestValidateLargeObject(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
	}
	ok := b.String() + "}"
	if err := Validate([]byte(ok)); err != nil {
		t.Errorf("Validate(100 keys) = %v, want nil", err)
	}
	dup := b.String() + `,"k":2}`
	if err := Validate([]byte(dup)); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("Validate(100 keys + duplicate) = %v, want ErrDuplicateKey", err)
	}
}

// TestValidateAgreesWithEncodingJSON checks that whatever Validate accepts,
// encoding/json accepts too.
func TestValidateAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{`{"a":[1,2,{"b":null}]}`, `"\u0000"`, `1e400`, `[]`, `" "`} {
		if Validate([]byte(doc)) == nil && !json.Valid([]byte(doc)) {
			t.Errorf("Validate(%q) = nil but json.Valid = false", doc)
		}
	}
}
