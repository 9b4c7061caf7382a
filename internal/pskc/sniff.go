package pskc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
)

// Sniff reports whether prefix (the first bytes of a file) looks like XML: after an
// optional UTF-8 BOM and whitespace the first character is '<'; UTF-16 text (by BOM or by
// a '<' in either byte order) counts too. It lets `--format auto` decide by content.
func Sniff(prefix []byte) bool {
	switch {
	case bytes.HasPrefix(prefix, []byte{0xFF, 0xFE}), bytes.HasPrefix(prefix, []byte{0xFE, 0xFF}):
		return sniffUTF16(prefix[2:], prefix[0] == 0xFF)
	case bytes.HasPrefix(prefix, []byte{0x3C, 0x00}):
		return true
	case bytes.HasPrefix(prefix, []byte{0x00, 0x3C}):
		return true
	}
	prefix = bytes.TrimPrefix(prefix, []byte{0xEF, 0xBB, 0xBF})
	prefix = bytes.TrimLeft(prefix, " \t\r\n")
	return len(prefix) > 0 && prefix[0] == '<'
}

func sniffUTF16(b []byte, little bool) bool {
	for i := 0; i+1 < len(b); i += 2 {
		c, z := b[i], b[i+1]
		if !little {
			c, z = z, c
		}
		if z != 0 {
			return false
		}
		if isXMLSpace(c) {
			continue
		}
		return c == '<'
	}
	return false
}

// ParseKeyMaterial reads a pre-shared key file: hex text (whitespace and newlines
// anywhere, optional 0x prefix), or exactly 16, 24 or 32 raw bytes that are not hex.
// Errors never echo the file's content.
func ParseKeyMaterial(b []byte) ([]byte, error) {
	text := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(b))
	if len(text) >= 2 && (text[:2] == "0x" || text[:2] == "0X") {
		text = text[2:]
	}
	if text != "" && isHexText([]byte(text)) {
		if len(text)%2 != 0 {
			return nil, errors.New("key is hex with an odd number of digits")
		}
		k, err := hex.DecodeString(text)
		if err != nil {
			return nil, errors.New("key is not valid hex")
		}
		return k, nil
	}
	switch len(b) {
	case 16, 24, 32:
		return append([]byte(nil), b...), nil
	case 0:
		return nil, errors.New("key file is empty")
	}
	return nil, errors.New("key is neither hex nor a raw 16-, 24- or 32-byte key")
}
