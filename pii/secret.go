package pii

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"strings"
)

// keyPrefixes are the prefixes of API keys and tokens whose issuers made
// them recognisable; a value starting with one and followed by at least
// min characters of [A-Za-z0-9_-] (what providers use) is secret_like.
var keyPrefixes = []struct {
	prefix, what string
	min          int
}{
	{"sk_live_", "Stripe", 16}, {"sk_test_", "Stripe", 16}, {"rk_live_", "Stripe", 16}, {"rk_test_", "Stripe", 16},
	{"whsec_", "Stripe webhook", 16},
	{"sk-", "OpenAI or Anthropic", 20},
	{"github_pat_", "GitHub", 20}, {"ghp_", "GitHub", 30}, {"gho_", "GitHub", 30}, {"ghu_", "GitHub", 30},
	{"ghs_", "GitHub", 30}, {"ghr_", "GitHub", 30},
	{"glpat-", "GitLab", 20},
	{"xoxb-", "Slack", 16}, {"xoxp-", "Slack", 16}, {"xoxa-", "Slack", 16}, {"xoxr-", "Slack", 16}, {"xapp-", "Slack", 16},
	{"npm_", "npm", 30}, {"pypi-", "PyPI", 30}, {"hf_", "Hugging Face", 30},
	{"shpat_", "Shopify", 30}, {"shpss_", "Shopify", 30},
	{"SG.", "SendGrid", 40},
	{"AIza", "Google API", 35},
}

// keyPrefixReason reports whether s has the shape of a known kind of API
// key or of a private key; the reason names the issuer, never the value.
func keyPrefixReason(s string) (string, bool) {
	switch {
	case strings.Contains(s, "-----BEGIN") && strings.Contains(s, "PRIVATE KEY-----"):
		return "PEM private key", true
	case isSDProxyKey(s):
		return "sdproxy API key format (qk_<id>_<secret>)", true
	case len(s) == 20 && (strings.HasPrefix(s, "AKIA") || strings.HasPrefix(s, "ASIA")) && upperAlnum(s[4:]):
		return "AWS access key id format", true
	}
	for _, p := range keyPrefixes {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok && len(rest) >= p.min && keyChars(rest) {
			return p.what + " API key format", true
		}
	}
	return "", false
}

// isSDProxyKey reports whether s is an sdproxy API key, qk_ then 12
// base36 characters, '_' and 38 base62 characters. The key id alone
// (qk_ and the 12 characters) is public and is not matched.
func isSDProxyKey(s string) bool {
	if len(s) != 3+12+1+38 || !strings.HasPrefix(s, "qk_") || s[15] != '_' {
		return false
	}
	for i := 3; i < len(s); i++ {
		c := s[i]
		if i == 15 {
			continue
		}
		if !isDigit(c) && !isLower(c) && (i < 15 || !isUpper(c)) {
			return false
		}
	}
	return true
}

func upperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isUpper(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func keyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// Bounds of the generic high-entropy rule.
const (
	minSecretLen = 20
	maxSecretLen = 256
	// minTransitions is the least share of neighbouring characters of
	// different classes (upper, lower, digit, symbol): about 0.6 in random
	// base62, about 0.15 in CamelCase words.
	minTransitions = 0.3
)

// highEntropy reports whether s looks like a random secret: 20 to 256
// characters of the base64, base64url or hex alphabets (plus '.' and '~'),
// upper case, lower case and digits all present (so no hex digest, UUID
// or plain word), a Shannon entropy near that of random text of its
// length, frequent changes of character class, and not one of the id
// shapes APIs use: a UUID, a short lower-case prefix and '_' (cus_…,
// ord_…), base64 of JSON (page cursors), or a digest named by its
// algorithm (sha512-…, as in Subresource Integrity and lock files).
func highEntropy(s string) bool {
	if len(s) < minSecretLen || len(s) > maxSecretLen || isUUID(s) || prefixedID(s) || base64JSON(s) || digestPrefix(s) {
		return false
	}
	var up, low, dig bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUpper(c):
			up = true
		case isLower(c):
			low = true
		case isDigit(c):
			dig = true
		case strings.IndexByte("+/=_-.~", c) < 0:
			return false
		}
	}
	if !up || !low || !dig {
		return false
	}
	return entropy(s) >= entropyThreshold(len(s)) && transitions(s) >= minTransitions
}

// entropyThreshold is the Shannon entropy, in bits per character, a
// string of n characters must reach: 0.8 bits under log2(n) (random text
// of n characters comes close to log2(n) while n is below its alphabet's
// size), capped at 4.3.
func entropyThreshold(n int) float64 {
	return math.Min(math.Log2(float64(n))-0.8, 4.3)
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// transitions returns the share of neighbouring bytes of s in different
// classes.
func transitions(s string) float64 {
	class := func(c byte) int {
		switch {
		case isUpper(c):
			return 0
		case isLower(c):
			return 1
		case isDigit(c):
			return 2
		}
		return 3
	}
	t := 0
	for i := 1; i < len(s); i++ {
		if class(s[i]) != class(s[i-1]) {
			t++
		}
	}
	return float64(t) / float64(len(s)-1)
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !isHex(c):
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// prefixedID reports whether s is an id with a type prefix: 2 to 10
// lower-case letters, '_' or '-', then letters and digits only (cus_…,
// pi_…, prj_…, evt_…). Key prefixes (sk_live_…) are matched before.
func prefixedID(s string) bool {
	i := 0
	for i < len(s) && isLower(s[i]) {
		i++
	}
	if i < 2 || i > 10 || i >= len(s)-1 || (s[i] != '_' && s[i] != '-') {
		return false
	}
	for j := i + 1; j < len(s); j++ {
		if !isAlnum(s[j]) {
			return false
		}
	}
	return true
}

// digestPrefix reports whether s starts with a hash algorithm's name and
// '-' or ':' (sha256-…, sha512:…, md5-…).
func digestPrefix(s string) bool {
	for _, p := range []string{"sha1", "sha256", "sha384", "sha512", "md5"} {
		if rest, ok := strings.CutPrefix(s, p); ok && rest != "" && (rest[0] == '-' || rest[0] == ':') {
			return true
		}
	}
	return false
}

// base64JSON reports whether s is base64 (standard or URL alphabet) of a
// JSON object or array, as opaque page cursors often are.
func base64JSON(s string) bool {
	if !strings.HasPrefix(s, "ey") && !strings.HasPrefix(s, "W") {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(strings.TrimRight(s, "=")); err == nil && json.Valid(b) {
			return true
		}
	}
	return false
}

// urlWithPassword reports whether s is an absolute URL whose user
// information holds a password (postgres://app:pw@db/app).
func urlWithPassword(s string) bool {
	if !strings.Contains(s, "://") || strings.ContainsAny(s, " \t\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return false
	}
	pw, ok := u.User.Password()
	return ok && pw != ""
}
