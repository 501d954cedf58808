package pii

import "strings"

// finding is one kind found in a value, and why.
type finding struct{ kind, reason string }

// valueType is the JSON type of a value, for the field-name rules.
type valueType uint8

const (
	typeString valueType = 1 << iota
	typeNumber
	typeContainer // a non-empty object or array
)

// Reasons, fixed phrases: a Hint never says more about the value.
const (
	reasonEmail       = "looks like an email address"
	reasonE164        = "looks like a phone number in international format"
	reasonNational    = "looks like a phone number in a national format"
	reasonContext     = "digits after a word such as call, text or phone"
	reasonCard        = "13 to 19 digits, Luhn-valid, with a known card issuer prefix"
	reasonIBAN        = "IBAN with its country's length and a valid mod-97 checksum"
	reasonSSN         = "US Social Security number (AAA-GG-SSSS, issuable ranges)"
	reasonIPv4        = "IPv4 address"
	reasonIPv6        = "IPv6 address"
	reasonJWT         = "JSON Web Token (its header names an alg)"
	reasonEntropy     = "high-entropy string mixing upper case, lower case and digits"
	reasonURLPassword = "URL holding a password"
	inText            = ", in free text"
)

// classifyString returns what s, the string value of a field named name,
// holds. protected is true for an sdproxy token: it gives no hint at all.
func classifyString(s, name string) (f []finding, protected bool) {
	if isToken(s) {
		return nil, true
	}
	v := strings.TrimSpace(s)
	if v == "" {
		return nil, false
	}
	if _, ok := ipReason(v); ok && versionName(name) {
		return nil, false // 1.0.0.1 in a field named version
	}
	if f, ok := classifyWhole(v, name); ok {
		return []finding{f}, false
	}
	return scanText(v), false
}

// classifyWhole returns the one kind that all of v (trimmed) is, trying
// the most specific formats first.
func classifyWhole(v, name string) (finding, bool) {
	switch {
	case isJWT(v):
		return finding{KindJWT, reasonJWT}, true
	case isEmail(v):
		return finding{KindEmail, reasonEmail}, true
	case isCardText(v):
		return finding{KindCardNumber, reasonCard}, true
	case isIBANText(v):
		return finding{KindIBAN, reasonIBAN}, true
	case isSSN(v):
		return finding{KindUSSSN, reasonSSN}, true
	}
	if r, ok := ipReason(v); ok {
		return finding{KindIPAddress, r}, true
	}
	if r, ok := phoneReason(v); ok {
		return finding{KindPhone, r}, true
	}
	if r, ok := keyPrefixReason(v); ok {
		return finding{KindSecretLike, r}, true
	}
	if urlWithPassword(v) {
		return finding{KindSecretLike, reasonURLPassword}, true
	}
	if !idName(name) && highEntropy(v) {
		return finding{KindSecretLike, reasonEntropy}, true
	}
	return finding{}, false
}

// classifyNumber returns what a JSON number holds: only a card number
// (15 or 16 digits; longer integers are ids far more often) is looked for.
func classifyNumber(n string) []finding {
	if (len(n) == 15 || len(n) == 16) && allDigits(n) && isCard([]byte(n)) {
		return []finding{{KindCardNumber, reasonCard}}
	}
	return nil
}

// isToken reports whether s is an sdproxy token:
// qanapi:<cls>:v<N>[f]:<payload>:$.
func isToken(s string) bool {
	rest, ok := strings.CutPrefix(s, "qanapi:")
	if !ok || !strings.HasSuffix(rest, ":$") {
		return false
	}
	parts := strings.Split(rest[:len(rest)-2], ":")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return false
	}
	ver := strings.TrimSuffix(parts[1], "f")
	return len(ver) > 1 && ver[0] == 'v' && allDigits(ver[1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isUpper(c) || isLower(c) }
