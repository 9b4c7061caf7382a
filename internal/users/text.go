package users

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mfactl/mfactl/internal/ident"
)

// MaxTextLen bounds names and reasons an admin gives (they are shown in tables).
const MaxTextLen = 256

// CheckText checks a name, reason or UPN given on the command line or in a file: at most
// MaxTextLen bytes of valid UTF-8 without control characters, which would garble tables and
// terminals, nor invisible or bidirectional ones, which make two values look alike or reorder
// a table (the rules of ident.CheckText). The error names the field and the character by code
// point but never echoes the value.
func CheckText(field, s string) error {
	if len(s) > MaxTextLen {
		return fmt.Errorf("%s is longer than %d bytes", field, MaxTextLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if d, bad := ident.CheckText(s); bad {
		return fmt.Errorf("%s contains %s", field, d)
	}
	return nil
}

// Text is a name, UPN or serial as it enters the domain from an argument or a file: white space
// around it dropped and in Unicode Normalization Form C, so that the NFD and NFC spellings of a
// name are one name.
func Text(s string) string { return ident.NFC(strings.TrimSpace(s)) }
