package pii

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// isJWT reports whether s is a JSON Web Token in compact form: three
// base64url parts (the signature may be empty) whose first decodes to a
// JSON object with an "alg" member.
func isJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) < 8 || parts[1] == "" || !isBase64URL(parts[0]) || !isBase64URL(parts[1]) || !isBase64URL(parts[2]) {
		return false
	}
	header, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return false
	}
	var h map[string]json.RawMessage
	if json.Unmarshal(header, &h) != nil {
		return false
	}
	_, ok := h["alg"]
	return ok
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '=' {
			return false
		}
	}
	return true
}
