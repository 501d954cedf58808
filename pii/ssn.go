package pii

// isSSN reports whether s is a US Social Security number written
// AAA-GG-SSSS (or with spaces) in the ranges the SSA issues: the area is
// not 000, 666 or 900–999, the group not 00, the serial not 0000.
func isSSN(s string) bool {
	if len(s) != 11 || s[3] != s[6] || (s[3] != '-' && s[3] != ' ') {
		return false
	}
	area, group, serial := s[:3], s[4:6], s[7:]
	if !allDigits(area) || !allDigits(group) || !allDigits(serial) {
		return false
	}
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}
