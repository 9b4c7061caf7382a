package directory

import (
	"strings"

	"github.com/mfactl/mfactl/internal/ident"
)

// MaxMethods is how many OATH methods (hardware tokens plus authenticator apps) one user may
// have at once, as in Azure MFA. It is the one place the rule's number is written.
const MaxMethods = 5

// Key folds a serial number or UPN to the form used for uniqueness and lookups: NFC, so that
// a name typed with a combining accent finds the one stored precomposed, and lower case.
// UPNs and serial numbers compare equal exactly when their keys do.
func Key(s string) string { return strings.ToLower(ident.NFC(s)) }
