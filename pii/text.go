package pii

import "strings"

// scanText returns the kinds found inside s, free text that is not wholly
// of one kind: each email address; each word that is a JWT, an IP
// address, a US SSN, a compact IBAN or card number, or a known API-key
// format; each run of digits and separators that is a card number, a
// phone number or an SSN; each IBAN printed in groups. Generic high
// entropy is not looked for inside text.
func scanText(s string) []finding {
	var out []finding
	add := func(kind, reason string) {
		for _, f := range out {
			if f.kind == kind {
				return
			}
		}
		out = append(out, finding{kind, reason + inText})
	}
	if scanEmails(s) {
		add(KindEmail, reasonEmail)
	}
	for _, w := range strings.FieldsFunc(s, isWordBreak) {
		w = strings.TrimRight(w, ".:!?")
		switch {
		case isJWT(w):
			add(KindJWT, reasonJWT)
		case isCardText(w):
			add(KindCardNumber, reasonCard)
		case isIBAN([]byte(w)):
			add(KindIBAN, reasonIBAN)
		case isSSN(w):
			add(KindUSSSN, reasonSSN)
		}
		if r, ok := ipReason(w); ok {
			add(KindIPAddress, r)
		}
		if r, ok := keyPrefixReason(w); ok {
			add(KindSecretLike, r)
		} else if urlWithPassword(w) {
			add(KindSecretLike, reasonURLPassword)
		}
	}
	scanDigitRuns(s, add)
	if scanIBANs(s) {
		add(KindIBAN, reasonIBAN)
	}
	return out
}

// isWordBreak separates the words of free text.
func isWordBreak(r rune) bool {
	return strings.ContainsRune(" \t\r\n,;()[]<>{}|\"'=", r)
}

// scanEmails reports whether s holds an email address: around each '@',
// the longest local part and domain, trimmed of dots. It is linear in the
// length of s: each local part and domain ends at the '@' before or after
// it, and the words before the '@'s are read once (userInfo).
func scanEmails(s string) bool {
	u := userInfo{scheme: -1}
	for i := strings.IndexByte(s, '@'); i >= 0; {
		l := i
		for l > 0 && (isAtext(s[l-1]) || s[l-1] == '.') {
			l--
		}
		r := i + 1
		for r < len(s) && isDomainChar(s[r]) {
			r++
		}
		local, domain := strings.Trim(s[l:i], "."), strings.Trim(s[i+1:r], ".-")
		if !u.before(s, i) && isEmail(local+"@"+domain) {
			return true
		}
		next := strings.IndexByte(s[i+1:], '@')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// userInfo tells whether an '@' ends the user information of a URL
// (scheme://user:password@host): its word holds "://" before it. It reads
// s once, up to each '@' asked about in turn, so that a word with many '@'
// is not read again from its start for each.
type userInfo struct {
	read   int // s[:read] has been read
	word   int // where the word being read starts
	scheme int // where the word's last "://" starts, or -1
}

// before reports whether the '@' at s[at] ends a URL's user information;
// at is after any asked about before, in the same s.
func (u *userInfo) before(s string, at int) bool {
	for ; u.read < at; u.read++ {
		switch c := s[u.read]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			u.word, u.scheme = u.read+1, -1
		case c == '/' && u.read >= 2 && s[u.read-2:u.read+1] == "://" && u.read-2 >= u.word:
			u.scheme = u.read - 2
		}
	}
	return u.scheme >= 0
}

// scanDigitRuns finds the runs of s that start a word with a digit, '+'
// or '(' and go on with digits and phone separators, and reports each that
// is a card number, an SSN or a phone number.
func scanDigitRuns(s string, add func(kind, reason string)) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != '+' && c != '(' || i > 0 && !runBoundary(s[i-1]) {
			continue
		}
		end, last := i+1, -1
		if isDigit(c) {
			last = i
		}
		for ; end < len(s) && (isDigit(s[end]) || strings.IndexByte(" -./()", s[end]) >= 0); end++ {
			if isDigit(s[end]) {
				last = end
			}
		}
		if last < 0 {
			// No digit up to end, so none from any start inside the run
			// either: go on after it (rescanning it from each '(' in it
			// took time quadratic in its length).
			i = end - 1
			continue
		}
		if last+1 < len(s) && isAlnum(s[last+1]) {
			i = end
			continue // digits glued to letters: a reference, not a number
		}
		run := s[i : last+1]
		switch {
		case isCardText(run):
			add(KindCardNumber, reasonCard)
		case isSSN(run):
			add(KindUSSSN, reasonSSN)
		default:
			if r, ok := phoneReason(run); ok {
				add(KindPhone, r)
			} else if allDigits(run) && len(run) >= 9 && len(run) <= 15 && phoneContext(s[:i]) {
				add(KindPhone, reasonContext)
			}
		}
		i = end
	}
}

// phoneWords are the words that, just before a bare run of digits in
// free text, say it is a phone number ("text me: 0612345678").
var phoneWords = []string{"call", "phone", "tel", "text", "mobile", "cell", "sms", "whatsapp", "ring", "reach", "contact"}

// phoneContext reports whether one of phoneWords ends within the 24 bytes
// of before.
func phoneContext(before string) bool {
	if len(before) > 24 {
		before = before[len(before)-24:]
	}
	before = strings.ToLower(before)
	for _, w := range phoneWords {
		if strings.Contains(before, w) {
			return true
		}
	}
	return false
}

// runBoundary reports whether a digit run may start after c.
func runBoundary(c byte) bool {
	return !isAlnum(c) && strings.IndexByte(".-/+_:#", c) < 0
}

// scanIBANs reports whether s holds an IBAN printed in groups of four:
// two capital letters and two digits starting a word, then letters and
// digits with single spaces, up to the country's length, ending a word.
func scanIBANs(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if i > 0 && isAlnum(s[i-1]) || !isUpper(s[i]) || !isUpper(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
			continue
		}
		n := ibanLengths[s[i:i+2]]
		if n == 0 {
			continue
		}
		b, j := make([]byte, 0, n), i
	collect:
		for ; j < len(s) && len(b) < n; j++ {
			switch c := s[j]; {
			case isUpper(c) || isDigit(c):
				b = append(b, c)
			case c == ' ' && j+1 < len(s) && s[j+1] != ' ':
			default:
				break collect
			}
		}
		if len(b) == n && (j == len(s) || !isAlnum(s[j])) && isIBAN(b) {
			return true
		}
	}
	return false
}
