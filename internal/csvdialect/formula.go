package csvdialect

import "strings"

// NeutraliseFormula prefixes s with an apostrophe when a spreadsheet would treat it as a
// formula (OWASP "CSV injection": it starts with =, +, -, @, tab or carriage return). Plain
// numbers such as a drift of -7 are left alone: a spreadsheet reads them as numbers, not
// formulas. A value that already starts with apostrophes before such a character ("'=x") gets
// one more, so that Unneutralise can tell it from a neutralised "=x": without that, the two
// are written alike and read back alike.
func NeutraliseFormula(s string) string {
	if formulaLike(strings.TrimLeft(s, "'")) {
		return "'" + s
	}
	return s
}

// Unneutralise undoes NeutraliseFormula exactly, so that mfactl's CSV listings import again
// as the values they list: Unneutralise(NeutraliseFormula(s)) == s for every s.
func Unneutralise(s string) string {
	if len(s) >= 2 && s[0] == '\'' && formulaLike(strings.TrimLeft(s, "'")) {
		return s[1:]
	}
	return s
}

// formulaLike reports whether a spreadsheet would run s as a formula.
func formulaLike(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !isNumber(s)
}

// isNumber reports whether s is a signed decimal number: -7, +3, -0.5.
func isNumber(s string) bool {
	digits, dot := 0, false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case (c == '-' || c == '+') && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}
