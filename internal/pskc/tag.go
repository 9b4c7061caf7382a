package pskc

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type xmlAttr struct {
	prefix, local, value string
}

// parseStartTag parses a start tag such as `<p:KeyContainer a="1">` (the root element,
// which is not handed to the tree parser).
func parseStartTag(tag []byte) (prefix, local string, attrs []xmlAttr, selfClose bool, ok bool) {
	s := string(tag)
	if len(s) < 3 || s[0] != '<' || s[len(s)-1] != '>' {
		return "", "", nil, false, false
	}
	s = s[1 : len(s)-1]
	if strings.HasSuffix(s, "/") {
		selfClose = true
		s = s[:len(s)-1]
	}
	i := 0
	for i < len(s) && !isXMLSpace(s[i]) {
		i++
	}
	name := s[:i]
	if !validName(name) {
		return "", "", nil, false, false
	}
	prefix, local = splitName(name)
	seen := map[string]bool{}
	for {
		for i < len(s) && isXMLSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		j := i
		for j < len(s) && s[j] != '=' && !isXMLSpace(s[j]) {
			j++
		}
		an := s[i:j]
		if !validName(an) || seen[an] {
			return "", "", nil, false, false
		}
		seen[an] = true
		for j < len(s) && isXMLSpace(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			return "", "", nil, false, false
		}
		j++
		for j < len(s) && isXMLSpace(s[j]) {
			j++
		}
		if j == len(s) || (s[j] != '"' && s[j] != '\'') {
			return "", "", nil, false, false
		}
		q := s[j]
		k := strings.IndexByte(s[j+1:], q)
		if k < 0 {
			return "", "", nil, false, false
		}
		raw := s[j+1 : j+1+k]
		val, vok := unescape(raw)
		if !vok {
			return "", "", nil, false, false
		}
		ap, al := splitName(an)
		attrs = append(attrs, xmlAttr{prefix: ap, local: al, value: val})
		i = j + 1 + k + 1
		if i < len(s) && !isXMLSpace(s[i]) {
			return "", "", nil, false, false
		}
	}
	return prefix, local, attrs, selfClose, true
}

func splitName(n string) (string, string) {
	if i := strings.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return "", n
}

func validName(n string) bool {
	if n == "" || !utf8.ValidString(n) {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_' || r == ':' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= 0x80:
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// unescape resolves the predefined entities and character references; any other entity
// is an error (there is no DTD to declare one).
func unescape(s string) (string, bool) {
	if strings.ContainsRune(s, '<') {
		return "", false
	}
	if !strings.ContainsRune(s, '&') {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		j := strings.IndexByte(s, ';')
		if j < 0 {
			return "", false
		}
		ent := s[:j]
		s = s[j+1:]
		switch ent {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			var n uint64
			var err error
			switch {
			case strings.HasPrefix(ent, "#x"):
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			case strings.HasPrefix(ent, "#"):
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				return "", false
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return "", false
			}
			b.WriteRune(rune(n))
		}
	}
}
