package pskc

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
)

// isXMLSpace reports whether c is XML whitespace (XML 1.0 production S).
func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimXML(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isXMLSpace(byte(r)) })
}

// stripXMLSpace removes all XML whitespace, as xs:base64Binary allows it anywhere.
func stripXMLSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if !isXMLSpace(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// decodeBase64 decodes xs:base64Binary strictly: standard alphabet, padding required, no
// stray bits. Go's decoder would silently skip CR/LF only, so all XML whitespace is removed
// first and anything else is an error.
func decodeBase64(s string) ([]byte, bool) {
	s = stripXMLSpace(s)
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// parseDecimal parses an optionally signed decimal integer (surrounding whitespace allowed).
func parseDecimal(s string) (int64, bool) {
	s = trimXML(s)
	if s == "" {
		return 0, false
	}
	if s[0] == '+' {
		s = s[1:]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// isDecimalText reports whether b is an optional '-' followed by ASCII digits.
func isDecimalText(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// intFromBytes reads a decoded or decrypted integer value: ASCII decimal digits, else an
// unsigned big-endian number of at most 8 bytes. The boolean is false when it is neither.
func intFromBytes(b []byte) (value int64, neg bool, big uint64, ok bool) {
	if isDecimalText(b) {
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			u, err2 := strconv.ParseUint(string(b), 10, 64)
			if err2 != nil {
				return 0, false, 0, false
			}
			return 0, false, u, true
		}
		if v < 0 {
			return v, true, 0, true
		}
		return v, false, uint64(v), true
	}
	if len(b) == 0 || len(b) > 8 {
		return 0, false, 0, false
	}
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return 0, false, u, true
}

// intValue is an integer read from a Data element, kept wide enough for a 64-bit counter.
type intValue struct {
	neg bool
	v   int64  // when neg
	u   uint64 // when !neg
}

func (iv intValue) asInt() (int, bool) {
	if iv.neg {
		return int(iv.v), iv.v >= math.MinInt
	}
	if iv.u > math.MaxInt64 {
		return 0, false
	}
	return int(iv.u), true
}

// parsePlainInt reads a Data PlainValue: decimal, or (legacy) base64 of ASCII digits or of
// a big-endian number.
func parsePlainInt(s string) (intValue, bool) {
	if v, ok := parseDecimal(s); ok {
		if v < 0 {
			return intValue{neg: true, v: v}, true
		}
		return intValue{u: uint64(v)}, true
	}
	// A decimal too large for int64 (but fitting a uint64 counter).
	if t := trimXML(s); t != "" && t[0] != '-' {
		if u, err := strconv.ParseUint(t, 10, 64); err == nil {
			return intValue{u: u}, true
		}
	}
	b, ok := decodeBase64(s)
	if !ok {
		return intValue{}, false
	}
	return bytesInt(b)
}

func bytesInt(b []byte) (intValue, bool) {
	v, neg, u, ok := intFromBytes(b)
	if !ok {
		return intValue{}, false
	}
	if neg {
		return intValue{neg: true, v: v}, true
	}
	return intValue{u: u}, true
}

// parseAttrInt parses an integer attribute or Policy integer: decimal only.
func parseAttrInt(s string) (int, bool) {
	v, ok := parseDecimal(s)
	if !ok || v > math.MaxInt32 || v < math.MinInt32 {
		return 0, false
	}
	return int(v), true
}

// parseBool parses an xs:boolean, case-insensitively.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(trimXML(s)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02Z07:00",
	"2006-01-02",
}

// parseDate parses an xs:dateTime (or xs:date); a value without a zone is taken as UTC.
func parseDate(s string) (time.Time, bool) {
	s = trimXML(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isHexText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isBase32Text(b []byte) bool {
	n := len(b)
	for n > 0 && b[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	for _, c := range b[:n] {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
