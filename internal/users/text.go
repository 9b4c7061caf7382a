package users

import (
	"fmt"
	"unicode/utf8"
)

// MaxTextLen bounds names and reasons an admin gives (they are shown in tables).
const MaxTextLen = 256

// CheckText checks a name, reason or UPN given on the command line or in a file: at most
// MaxTextLen bytes of valid UTF-8 without control characters, which would garble tables and
// terminals. The error names the field but never echoes the value.
func CheckText(field, s string) error {
	if len(s) > MaxTextLen {
		return fmt.Errorf("%s is longer than %d bytes", field, MaxTextLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%s contains a control character", field)
		}
	}
	return nil
}
