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

// checkBase32Secret applies the secret rules (docs/formats.md) to a Base32 field. The secret
// is decoded into dst when it is large enough (the reader passes room inside its Record, to
// save an allocation per row).
func checkBase32Secret(line int, field string, dst []byte) ([]byte, []Problem) {
	if secret, hexish, ok := decodeCanonicalBase32(dst, field); ok {
		var ps []Problem
		ps = appendSecretWarnings(ps, line, secret)
		if hexish {
			ps = append(ps, looksHexWarning(line))
		}
		return secret, ps
	}
	n := field
	canonical, hexish := scanCanonicalBase32(field)
	if !canonical || n == "" {
		if strings.TrimSpace(field) == "" {
			return nil, []Problem{errorAt(line, ColSecret, CodeSecretEmpty, "required")}
		}
		n = NormalizeBase32(field)
		if n == "" {
			return nil, []Problem{errorAt(line, ColSecret, CodeSecretEmpty,
				"nothing left after removing spaces, '-' and '=' padding")}
		}
		if p, ok := classifyNonBase32(line, n); !ok {
			return nil, p
		}
		hexish = looksHex(n)
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
	size := rawBase32.DecodedLen(len(n))
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	var src [MaxSecretBase32]byte
	m, err := rawBase32.Decode(dst[:size], src[:copy(src[:], n)])
	if err != nil {
		// Unreachable after the checks above; kept so a decoder change cannot pass bad data.
		return nil, []Problem{errorAt(line, ColSecret, CodeSecretBase32, "not valid Base32")}
	}
	secret := dst[:m:m]
	ps = appendSecretWarnings(ps, line, secret)
	if hexish {
		ps = append(ps, looksHexWarning(line))
	}
	return secret, ps
}

func looksHexWarning(line int) Problem {
	return warningAt(line, ColSecret, CodeSecretLooksHex,
		"valid Base32 made only of hex characters (A-F, 2-7); check with the vendor that it is not hex")
}

// base32Values maps a canonical Base32 character to its 5-bit value; 0xFF marks the others.
var base32Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
		t[c] = byte(i)
	}
	return t
}()

// letterGZ marks the Base32 letters that are not hex digits.
var letterGZ = func() (t [256]byte) {
	for c := 'G'; c <= 'Z'; c++ {
		t[c] = 1
	}
	return t
}()

// decodeCanonicalBase32 is the fast path for the usual secret: already canonical unpadded
// Base32 of an acceptable length. It validates and decodes in one pass (into dst when it is
// large enough) and reports whether every character is also a hex digit. ok is false for
// anything else; the general path then normalises the field and explains what is wrong.
func decodeCanonicalBase32(dst []byte, s string) (secret []byte, hexish, ok bool) {
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, false, false
	}
	if len(s) == 0 || len(s) > MaxSecretBase32 {
		return nil, false, false
	}
	size := len(s) * 5 / 8
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	var bad, nonHex byte // bad collects 0xFF marks; nonHex the letters G-Z (values 6..25)
	o := 0
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		d0, d1, d2, d3 := base32Values[b[0]], base32Values[b[1]], base32Values[b[2]], base32Values[b[3]]
		d4, d5, d6, d7 := base32Values[b[4]], base32Values[b[5]], base32Values[b[6]], base32Values[b[7]]
		bad |= d0 | d1 | d2 | d3 | d4 | d5 | d6 | d7
		nonHex |= letterGZ[b[0]] | letterGZ[b[1]] | letterGZ[b[2]] | letterGZ[b[3]] |
			letterGZ[b[4]] | letterGZ[b[5]] | letterGZ[b[6]] | letterGZ[b[7]]
		v := uint64(d0)<<35 | uint64(d1)<<30 | uint64(d2)<<25 | uint64(d3)<<20 |
			uint64(d4)<<15 | uint64(d5)<<10 | uint64(d6)<<5 | uint64(d7)
		d := dst[o : o+5]
		d[0], d[1], d[2], d[3], d[4] = byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		o += 5
	}
	if n := len(s) - i; n > 0 {
		var v uint64
		for _, c := range []byte(s[i:]) {
			d := base32Values[c]
			bad |= d
			nonHex |= letterGZ[c]
			v = v<<5 | uint64(d&0x1F)
		}
		v <<= 5 * uint(8-n) // left-align the block's bits in 40 bits
		for k := 0; k < n*5/8; k++ {
			dst[o] = byte(v >> (32 - 8*k))
			o++
		}
	}
	if bad&0xE0 != 0 { // a valid value is below 32; the mark 0xFF is not
		return nil, false, false
	}
	return dst[:size:size], nonHex == 0, true
}

// scanCanonicalBase32 reports in one pass whether s is already canonical Base32 (A-Z, 2-7)
// and whether it is made only of characters that are also hex digits.
func scanCanonicalBase32(s string) (canonical, hexish bool) {
	hexish = true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'F', c >= '2' && c <= '7':
		case c >= 'G' && c <= 'Z':
			hexish = false
		default:
			return false, false
		}
	}
	return true, hexish
}

// classifyNonBase32 explains why the normalised text n is not Base32: hex (secret.hex) or
// another character (secret.base32). It reports ok when n is Base32 after all.
func classifyNonBase32(line int, n string) ([]Problem, bool) {
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
		return []Problem{errorAt(line, ColSecret, CodeSecretHex,
			"looks like hex, not Base32 (contains 0, 1, 8 or 9); convert it or pass --secret-encoding hex")}, false
	}
	if bad >= 0 {
		// The position is counted in runes of the normalised text; the character itself is
		// not named because it is part of the secret.
		pos := utf8.RuneCountInString(n[:bad]) + 1
		return []Problem{errorAt(line, ColSecret, CodeSecretBase32, fmt.Sprintf(
			"not Base32: character %d (ignoring spaces and '-') is not A-Z or 2-7", pos))}, false
	}
	return nil, true
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
