// Package tokens is the domain of OATH hardware tokens: the token model, the Azure OATH CSV
// format, its validation rules (docs/formats.md) and TOTP code computation.
package tokens

import "github.com/mfactl/mfactl/internal/directory"

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

// MaxMethods is the directory's limit of OATH methods per user (directory.MaxMethods), which
// the file rules check (user.limit) with what the directory already holds.
const MaxMethods = directory.MaxMethods
