package pii

// isCardText reports whether s is a card number: 13 to 19 digits, alone or
// in groups separated by single spaces or hyphens (one kind throughout),
// with a known issuer prefix and length, and a valid Luhn check digit.
func isCardText(s string) bool {
	d, ok := groupedDigits(s, " -")
	return ok && len(d) >= 13 && len(d) <= 19 && isCard(d)
}

// groupedDigits returns the digits of s when s is digits in groups
// separated by single separators, all the same byte of seps.
func groupedDigits(s, seps string) ([]byte, bool) {
	var d []byte
	var sep byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			d = append(d, c)
		case i > 0 && i < len(s)-1 && isDigit(s[i-1]) && isDigit(s[i+1]) && indexByte(seps, c) && (sep == 0 || sep == c):
			sep = c
		default:
			return nil, false
		}
	}
	return d, len(d) > 0
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// isCard reports whether d (digits) is a card number: a known issuer
// prefix with one of its lengths, and a valid Luhn check digit.
func isCard(d []byte) bool {
	return len(d) >= 13 && len(d) <= 19 && knownIssuer(d) && luhn(d)
}

// knownIssuer reports whether the first digits and the length of d belong
// to a card network: Visa, Mastercard, American Express, Discover,
// UnionPay, JCB, Diners Club, Maestro, Mir, RuPay, Troy.
func knownIssuer(d []byte) bool {
	n := len(d)
	p2, p3, p4 := prefix(d, 2), prefix(d, 3), prefix(d, 4)
	switch {
	case d[0] == '4': // Visa (13-digit numbers are no longer issued, and
		// read EAN-13 barcodes of the 400–440 range as cards)
		return n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649, p2 == 62: // Discover, UnionPay
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16 && n <= 19
	case p2 == 36, p2 == 38, p2 == 39, p3 >= 300 && p3 <= 305: // Diners Club
		return n >= 14 && n <= 19
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 >= 6759 && p4 <= 6763: // Maestro
		return n >= 13 && n <= 19
	case p4 >= 2200 && p4 <= 2204: // Mir
		return n >= 16 && n <= 19
	case p2 == 60, p2 == 81, p2 == 82, p3 == 508: // RuPay
		return n == 16
	case p4 == 9792: // Troy
		return n == 16
	}
	return false
}

// prefix returns the number spelled by the first n digits of d.
func prefix(d []byte, n int) int {
	v := 0
	for _, c := range d[:n] {
		v = v*10 + int(c-'0')
	}
	return v
}

// luhn reports whether the digits d end with a valid Luhn check digit.
func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
