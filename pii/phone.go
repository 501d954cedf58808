package pii

import "slices"

// phoneReason reports whether s is a phone number. Only digits, spaces,
// '-', '.', '/', '(' and ')' may appear, after an optional leading '+'.
//   - International: '+' (or 00 with separators) then 8 to 15 digits,
//     the first not 0 (E.164).
//   - National, with separators (a bare run of digits is an id or an
//     amount far more often): the North American 3-3-4 grouping with a
//     leading 1 or not, area code and exchange starting 2–9; or a trunk
//     prefix 0 (not 00) and 9 to 12 digits in groups, the first of at
//     least two digits (020 7946 0958, 01 23 45 67 89, 0412 345 678).
//
// Dates (at most 8 digits), decimals, dotted version strings and the
// AAA-GG-SSSS layout of a US SSN fall outside these shapes.
func phoneReason(s string) (string, bool) {
	if len(s) == 11 && s[3] == '-' && s[6] == '-' {
		return "", false // the layout of a US SSN (AAA-GG-SSSS), not of a phone number
	}
	plus := len(s) > 0 && s[0] == '+'
	if plus {
		s = s[1:]
	}
	d, groups, seps, dotsOnly, ok := phoneShape(s)
	if !ok {
		return "", false
	}
	n := len(d)
	switch {
	case plus:
		if n >= 8 && n <= 15 && d[0] != '0' {
			return reasonE164, true
		}
		return "", false
	case seps == 0:
		return "", false
	case n >= 10 && d[0] == '0' && d[1] == '0':
		if n-2 >= 8 && n-2 <= 15 && d[2] != '0' {
			return reasonE164, true
		}
		return "", false
	case nanp(d, groups):
		return reasonNational, true
	case d[0] == '0' && n >= 9 && n <= 12 && groups[0] >= 2 && !(dotsOnly && len(groups) == 2):
		return reasonNational, true
	}
	return "", false
}

// phoneShape splits s into its digits and the lengths of its digit
// groups. ok is false for any other character, or more than two
// separators in a row.
func phoneShape(s string) (d []byte, groups []int, seps int, dotsOnly, ok bool) {
	run, cur := 0, 0
	dotsOnly = true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			d = append(d, c)
			cur++
			run = 0
		case ' ', '-', '.', '/', '(', ')':
			if cur > 0 {
				groups = append(groups, cur)
				cur = 0
			}
			if run++; run > 2 {
				return nil, nil, 0, false, false
			}
			seps++
			dotsOnly = dotsOnly && c == '.'
		default:
			return nil, nil, 0, false, false
		}
	}
	if cur > 0 {
		groups = append(groups, cur)
	}
	return d, groups, seps, dotsOnly, len(d) > 0
}

// nanp reports whether d, grouped as groups, is a North American number:
// 3-3-4 or 1-3-3-4 with a leading 1, area code and exchange from 2 to 9.
func nanp(d []byte, groups []int) bool {
	off := 0
	switch {
	case len(d) == 10 && slices.Equal(groups, []int{3, 3, 4}):
	case len(d) == 11 && d[0] == '1' && slices.Equal(groups, []int{1, 3, 3, 4}):
		off = 1
	default:
		return false
	}
	return d[off] >= '2' && d[off+3] >= '2'
}
