// Package tokens is the domain of OATH hardware tokens: the token model, the Azure OATH CSV
// format, the validation rules of SPEC section 5 and TOTP code computation.
package tokens

// Hash algorithms a token may use.
const (
	HashSHA1   = "SHA1"
	HashSHA256 = "SHA256"
	HashSHA512 = "SHA512"
)

// Token is a hardware OATH TOTP token as read from a seed file.
type Token struct {
	UPN          string // owner, may be empty (unassigned stock)
	Serial       string
	Secret       []byte // the raw shared secret (never printed)
	Period       int    // seconds: 30 or 60
	Digits       int    // 6
	Hash         string // HashSHA1 by default
	Manufacturer string
	Model        string
}

// MaxMethods is how many OATH methods (hardware tokens plus authenticator apps) one user may
// have at once, as in Azure MFA. It is the one place the rule's number is written: the store
// and the users package refer to it.
const MaxMethods = 5
