package tokens

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secret encodings of the secret key column (--secret-encoding).
const (
	EncodingBase32 = "base32"
	EncodingHex    = "hex"
)

var rawBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Base32 returns secret as unpadded upper-case Base32, the form the Azure CSV expects.
func Base32(secret []byte) string { return rawBase32.EncodeToString(secret) }

// Base32Len is the number of unpadded Base32 characters that encode n bytes.
func Base32Len(n int) int { return (n*8 + 4) / 5 }

// NormalizeBase32 returns s as the canonical unpadded upper-case Base32 form people mean when
// they paste a secret: spaces (including tabs and no-break spaces) and '-' removed, trailing
// '=' padding removed, letters upper-cased. It does not check the result is valid Base32.
func NormalizeBase32(s string) string {
	if isCanonicalBase32(s) {
		return s // the common case: nothing to do, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case r >= 'a' && r <= 'z':
			b.WriteByte(byte(r - 'a' + 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimRight(b.String(), "=")
}

func isCanonicalBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBase32Char(s[i]) {
			return false
		}
	}
	return true
}

func isBase32Char(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') }

func isHexChar(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')
}

// checkBase32Secret applies the secret rules of SPEC section 5 to a Base32 field.
func checkBase32Secret(line int, field string) ([]byte, []Problem) {
	if strings.TrimSpace(field) == "" {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretEmpty, "required")}
	}
	n := NormalizeBase32(field)
	if n == "" {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretEmpty,
			"nothing left after removing spaces, '-' and '=' padding")}
	}
	hexOnly, hexDigit, bad := true, false, -1
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !isHexChar(c) {
			hexOnly = false
		}
		switch c {
		case '0', '1', '8', '9':
			hexDigit = true
		}
		if bad < 0 && !isBase32Char(c) {
			bad = i
		}
	}
	if hexOnly && hexDigit {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretHex,
			"looks like hex, not Base32 (contains 0, 1, 8 or 9); convert it or pass --secret-encoding hex")}
	}
	if bad >= 0 {
		// The position is counted in runes of the normalised text; the character itself is
		// not named because it is part of the secret.
		pos := utf8.RuneCountInString(n[:bad]) + 1
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretBase32, fmt.Sprintf(
			"not Base32: character %d (ignoring spaces and '-') is not A-Z or 2-7", pos))}
	}
	var ps []Problem
	if len(n) > MaxSecretBase32 {
		ps = append(ps, errorAt(line, ColSecret, CodeSecretTooLong, fmt.Sprintf(
			"%d Base32 characters, more than the %d allowed", len(n), MaxSecretBase32)))
	}
	switch len(n) % 8 {
	case 1, 3, 6:
		ps = append(ps, errorAt(line, ColSecret, CodeSecretLength, fmt.Sprintf(
			"%d Base32 characters cannot encode whole bytes; a character is missing or extra", len(n))))
	}
	if len(ps) > 0 {
		return nil, ps
	}
	secret := make([]byte, rawBase32.DecodedLen(len(n)))
	m, err := rawBase32.Decode(secret, []byte(n))
	if err != nil {
		// Unreachable after the checks above; kept so a decoder change cannot pass bad data.
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretBase32, "not valid Base32")}
	}
	secret = secret[:m]
	ps = appendSecretWarnings(ps, line, secret)
	if looksHex(n) {
		ps = append(ps, warningAt(line, ColSecret, CodeSecretLooksHex,
			"valid Base32 made only of hex characters (A-F, 2-7); check with the vendor that it is not hex"))
	}
	return secret, ps
}

// looksHex reports whether the normalised Base32 text n uses only characters that are also hex
// digits: a hex secret without 0, 1, 8 or 9 would pass as Base32 and give wrong codes.
func looksHex(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'A' && c <= 'F') && !(c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// normalizeHex removes what people put between hex digits (spaces, '-', ':') and a 0x prefix.
func normalizeHex(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ':' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// checkHexSecret applies the secret rules to a field read with --secret-encoding hex.
func checkHexSecret(line int, field string) ([]byte, []Problem) {
	n := normalizeHex(field)
	if n == "" {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretEmpty, "required")}
	}
	for i := 0; i < len(n); i++ {
		if !isHexChar(n[i]) {
			pos := utf8.RuneCountInString(n[:i]) + 1
			return nil, []Problem{errorAt(line, ColSecret, CodeSecretInvalidHex, fmt.Sprintf(
				"not hex: character %d (ignoring spaces, '-' and ':') is not 0-9 or A-F; drop --secret-encoding hex if the file holds Base32", pos))}
		}
	}
	if len(n)%2 != 0 {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretInvalidHex, fmt.Sprintf(
			"%d hex digits, an odd number cannot encode whole bytes", len(n)))}
	}
	secret, err := hex.DecodeString(n)
	if err != nil {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretInvalidHex, "not valid hex")}
	}
	var ps []Problem
	if Base32Len(len(secret)) > MaxSecretBase32 {
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretTooLong, fmt.Sprintf(
			"%d bytes (%d Base32 characters), more than the %d allowed",
			len(secret), Base32Len(len(secret)), MaxSecretBase32))}
	}
	return secret, appendSecretWarnings(ps, line, secret)
}

func appendSecretWarnings(ps []Problem, line int, secret []byte) []Problem {
	if len(secret) < MinSecretBytes {
		ps = append(ps, warningAt(line, ColSecret, CodeSecretShort, fmt.Sprintf(
			"%d bytes (%d bits); RFC 4226 asks for at least 128 bits", len(secret), len(secret)*8)))
	}
	return ps
}
