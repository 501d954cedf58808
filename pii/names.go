package pii

import "strings"

// nameRule is one field-name rule: a key whose words end with words (or,
// with exact, are exactly words) holds kind, for values of the types
// given. A rule with kind "" names a field that is known not to be
// personal data (next_page_token, ip_address: an IP is judged by its
// value), and stops the search.
type nameRule struct {
	words []string
	exact bool
	kind  string
	what  string
	types valueType
}

// Value types a field-name rule applies to.
const (
	credential = typeString                              // a credential is a string
	scalar     = typeString | typeNumber                 // an identifier may be a number
	anyType    = typeString | typeNumber | typeContainer // a record may be an object
)

// nameRules, in the order tried: the first match decides.
var nameRules = []nameRule{
	// Not personal data, or judged by the value.
	{words: w("ip address"), kind: ""}, {words: w("mac address"), kind: ""}, {words: w("ip"), kind: ""},
	{words: w("page token"), kind: ""}, {words: w("next token"), kind: ""}, {words: w("continuation token"), kind: ""},
	{words: w("pagination token"), kind: ""}, {words: w("sync token"), kind: ""},
	{words: w("cursor token"), kind: ""}, {words: w("token type"), kind: ""},

	{words: w("password"), kind: "password", what: "a password", types: credential},
	{words: w("passwd"), kind: "password", what: "a password", types: credential},
	{words: w("passphrase"), kind: "password", what: "a password", types: credential},
	{words: w("pwd"), exact: true, kind: "password", what: "a password", types: credential},
	{words: w("secret"), kind: "secret", what: "a secret", types: credential},
	{words: w("token"), kind: "token", what: "a credential token", types: credential},
	{words: w("api key"), kind: "api_key", what: "an API key", types: credential},
	{words: w("apikey"), kind: "api_key", what: "an API key", types: credential},
	{words: w("access key"), kind: "api_key", what: "an API key", types: credential},
	{words: w("secret key"), kind: "api_key", what: "an API key", types: credential},
	{words: w("private key"), kind: "api_key", what: "a private key", types: credential},
	{words: w("signing key"), kind: "api_key", what: "a signing key", types: credential},

	{words: w("date of birth"), kind: "dob", what: "a date of birth", types: anyType},
	{words: w("dob"), kind: "dob", what: "a date of birth", types: anyType},
	{words: w("birthdate"), kind: "dob", what: "a date of birth", types: anyType},
	{words: w("birth date"), kind: "dob", what: "a date of birth", types: anyType},
	{words: w("birthday"), kind: "dob", what: "a date of birth", types: anyType},
	{words: w("ssn"), kind: "ssn", what: "a social security number", types: scalar},
	{words: w("social security"), kind: "ssn", what: "a social security number", types: scalar},
	{words: w("social security number"), kind: "ssn", what: "a social security number", types: scalar},
	{words: w("passport"), kind: "passport", what: "a passport number", types: anyType},
	{words: w("passport number"), kind: "passport", what: "a passport number", types: scalar},
	{words: w("passport no"), kind: "passport", what: "a passport number", types: scalar},
	{words: w("tax id"), kind: "tax_id", what: "a tax identifier", types: scalar},
	{words: w("taxid"), kind: "tax_id", what: "a tax identifier", types: scalar},
	{words: w("tax number"), kind: "tax_id", what: "a tax identifier", types: scalar},
	{words: w("taxpayer id"), kind: "tax_id", what: "a tax identifier", types: scalar},
	{words: w("tin"), exact: true, kind: "tax_id", what: "a tax identifier", types: scalar},
	{words: w("national id"), kind: "national_id", what: "a national identity number", types: scalar},
	{words: w("national id number"), kind: "national_id", what: "a national identity number", types: scalar},
	{words: w("national insurance number"), kind: "national_id", what: "a national identity number", types: scalar},
	{words: w("driver license"), kind: "driver_license", what: "a driving licence number", types: scalar},
	{words: w("drivers license"), kind: "driver_license", what: "a driving licence number", types: scalar},
	{words: w("driving licence"), kind: "driver_license", what: "a driving licence number", types: scalar},
	{words: w("driver license number"), kind: "driver_license", what: "a driving licence number", types: scalar},

	{words: w("iban"), kind: "iban", what: "a bank account (IBAN)", types: scalar},
	{words: w("bank account"), kind: "bank_account", what: "a bank account number", types: anyType},
	{words: w("bank account number"), kind: "bank_account", what: "a bank account number", types: scalar},
	{words: w("account number"), kind: "bank_account", what: "a bank account number", types: scalar},
	{words: w("card number"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("card no"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("card num"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("cardnumber"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("credit card"), kind: "card_number", what: "a card number", types: anyType},
	{words: w("credit card number"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("cc number"), kind: "card_number", what: "a card number", types: scalar},
	{words: w("pan"), exact: true, kind: "card_number", what: "a card number", types: scalar},
	{words: w("card"), exact: true, kind: "card_number", what: "a card number", types: scalar},
	{words: w("cvv"), kind: "cvv", what: "a card security code", types: scalar},
	{words: w("cvc"), kind: "cvv", what: "a card security code", types: scalar},
	{words: w("csc"), exact: true, kind: "cvv", what: "a card security code", types: scalar},
	{words: w("security code"), kind: "cvv", what: "a card security code", types: scalar},
	{words: w("pin"), exact: true, kind: "pin", what: "a PIN", types: scalar},
	{words: w("pin code"), kind: "pin", what: "a PIN", types: scalar},

	{words: w("email address"), kind: "email", what: "an email address", types: anyType},
	{words: w("email"), kind: "email", what: "an email address", types: anyType},
	{words: w("e mail"), kind: "email", what: "an email address", types: anyType},
	{words: w("mail"), exact: true, kind: "email", what: "an email address", types: scalar},
	{words: w("phone"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("phone number"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("phone no"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("telephone"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("cellphone"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("mobile number"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("mobile phone"), kind: "phone", what: "a phone number", types: anyType},
	{words: w("mobile"), exact: true, kind: "phone", what: "a phone number", types: scalar},
	{words: w("tel"), exact: true, kind: "phone", what: "a phone number", types: scalar},
	{words: w("msisdn"), kind: "phone", what: "a phone number", types: scalar},
	{words: w("fax"), kind: "phone", what: "a phone number", types: scalar},
	{words: w("address line"), kind: "address", what: "a postal address", types: anyType},
	{words: w("address"), kind: "address", what: "a postal address", types: anyType},

	{words: w("first name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("firstname"), kind: "name", what: "a person's name", types: anyType},
	{words: w("last name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("lastname"), kind: "name", what: "a person's name", types: anyType},
	{words: w("full name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("fullname"), kind: "name", what: "a person's name", types: anyType},
	{words: w("given name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("family name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("middle name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("maiden name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("surname"), kind: "name", what: "a person's name", types: anyType},
	{words: w("cardholder name"), kind: "name", what: "a person's name", types: anyType},
	{words: w("holder name"), kind: "name", what: "a person's name", types: anyType},
}

func w(s string) []string { return strings.Fields(s) }

// nameKind returns the field-name kind of a value of type t named key. A
// key ending in a qualifier (number, no, num, nr) is tried as it is, then
// without it: drivers_license_number is a drivers_license.
func nameKind(key string, t valueType) (kind, what string, ok bool) {
	words := keyWords(key)
	for len(words) > 0 {
		if r, found := findRule(words); found {
			if r.kind == "" || r.types&t == 0 {
				return "", "", false
			}
			return r.kind, r.what, true
		}
		switch words[len(words)-1] {
		case "number", "no", "num", "nr":
			words = words[:len(words)-1]
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// rulesByLast indexes nameRules by their last word.
var rulesByLast = func() map[string][]int {
	m := map[string][]int{}
	for i, r := range nameRules {
		last := r.words[len(r.words)-1]
		m[last] = append(m[last], i)
	}
	return m
}()

// findRule returns the first rule, in the order of nameRules, that words
// match.
func findRule(words []string) (nameRule, bool) {
	last := words[len(words)-1]
	best := -1
	for _, w := range [...]string{last, strings.TrimSuffix(last, "s"), strings.TrimSuffix(last, "es")} {
		for _, i := range rulesByLast[w] {
			if (best < 0 || i < best) && nameRules[i].matches(words) {
				best = i
			}
		}
	}
	if best < 0 {
		return nameRule{}, false
	}
	return nameRules[best], true
}

// matches reports whether words (a key's) end with the rule's words, the
// last one also in a plural form, or are exactly them.
func (r nameRule) matches(words []string) bool {
	n := len(r.words)
	if len(words) < n || r.exact && len(words) != n {
		return false
	}
	tail := words[len(words)-n:]
	for i, rw := range r.words {
		if tail[i] == rw {
			continue
		}
		if rest, ok := strings.CutPrefix(tail[i], rw); !ok || i < n-1 || rest != "s" && rest != "es" {
			return false
		}
	}
	return true
}

// keyWords splits a key into lower-case words: at every character that is
// not a letter or digit, at lower-to-upper and letter-to-digit changes
// (dateOfBirth, address2, SSNNumber), dropping words of digits only.
func keyWords(key string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start >= 0 && !allDigits(key[start:end]) {
			out = append(out, strings.ToLower(key[start:end]))
		}
		start = -1
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !isAlnum(c) {
			flush(i)
			continue
		}
		if start >= 0 && wordStart(key, i) {
			flush(i)
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(key))
	return out
}

// wordStart reports whether a new word starts at key[i], inside a run of
// letters and digits.
func wordStart(key string, i int) bool {
	p, c := key[i-1], key[i]
	switch {
	case isDigit(p) != isDigit(c):
		return true
	case isLower(p) && isUpper(c):
		return true
	case isUpper(p) && isUpper(c) && i+1 < len(key) && isLower(key[i+1]):
		return true // "SSNNumber": the N of Number
	}
	return false
}

// versionName reports whether a field's name says it holds a version,
// whose dotted numbers may read as an IPv4 address.
func versionName(key string) bool {
	for _, wd := range keyWords(key) {
		switch wd {
		case "version", "ver", "release", "build", "sdk", "firmware", "os", "app", "oid":
			return true
		}
	}
	return false
}

// idName reports whether a field's name says it holds an identifier,
// checksum or cursor, which may be random without being a secret.
func idName(key string) bool {
	words := keyWords(key)
	if len(words) == 0 {
		return false
	}
	if words[0] == "idempotency" {
		return true // idempotency_key: random, and no secret
	}
	if r, ok := findRule(words); ok && r.kind == "" && r.words[len(r.words)-1] == "token" {
		return true // next_page_token, continuation_token: cursors
	}
	switch words[len(words)-1] {
	case "id", "ids", "uuid", "guid", "ref", "reference", "cursor", "etag", "hash", "checksum", "digest",
		"sha", "nonce", "signature", "fingerprint", "sku", "slug", "handle", "number", "code", "idempotency":
		return true
	}
	return false
}
