package pii

import "strings"

// isEmail reports whether s is an address local@domain: an RFC 5322
// dot-atom local part of at most 64 characters and a domain of at least
// two labels whose last (the top-level domain) holds only letters (or is
// an xn-- label).
func isEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > 64 || len(s)-at-1 > 253 {
		return false
	}
	return validLocal(s[:at]) && validDomain(s[at+1:])
}

func validLocal(l string) bool {
	if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isAtext(l[i]) && l[i] != '.' {
			return false
		}
	}
	return true
}

// isAtext reports whether c may appear in a dot-atom (RFC 5322 atext).
func isAtext(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0
}

func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.HasPrefix(tld, "xn--") {
		return true
	}
	for i := 0; i < len(tld); i++ {
		if !isUpper(tld[i]) && !isLower(tld[i]) {
			return false
		}
	}
	return len(tld) >= 2
}

// isDomainChar reports whether c may appear in a domain name.
func isDomainChar(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }
