package directory

import (
	"fmt"
	"strings"
	"time"
)

// UserState says whether a user may authenticate.
type UserState string

// User states: a blocked user is denied every verification (docs/directory.md).
const (
	UserActive  UserState = "active"
	UserBlocked UserState = "blocked"
)

// User is a directory user. The counts at the end are filled by ListUsers and GetUser and
// ignored when writing.
type User struct {
	ID             int64
	UPN            string // unique, compared case-insensitively, stored as given
	DisplayName    string
	Email          string
	Phone          string // "+CountryCode Number"
	State          UserState
	BlockedReason  string
	MustRegister   bool
	FailedAttempts int
	Locked         bool // OATH methods locked after too many failed verifications
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Methods         int // OATH methods: hardware tokens plus authenticator apps
	TokensActivated int
	TokensPending   int // assigned or failed activation, not yet activated
	AppPasswords    int
}

// TokenStatus is the life-cycle state of a hardware token.
type TokenStatus string

// Token statuses. What each means and what moves a token between them: docs/directory.md.
const (
	StatusAvailable        TokenStatus = "available"
	StatusAssigned         TokenStatus = "assigned"
	StatusActivated        TokenStatus = "activated"
	StatusFailedActivation TokenStatus = "failed_activation"
	StatusDisabled         TokenStatus = "disabled"
)

// Token is a hardware OATH token as stored. The secret is not part of it: TokenSecret decrypts
// it on explicit request.
type Token struct {
	ID             int64
	Serial         string
	UPN            string // owner as stored in users; empty when unassigned
	Hash           string
	Digits         int
	Period         int
	Manufacturer   string
	Model          string
	Status         TokenStatus
	DisabledReason string
	Drift          int   // learned drift in time steps
	LastStep       int64 // last accepted time step
	FailedAttempts int
	SourceFile     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ActivatedAt    time.Time // zero: never
	LastUsedAt     time.Time // zero: never
}

// TokenFilter selects tokens; empty fields match everything. UPN, Manufacturer and Model
// compare case-insensitively.
type TokenFilter struct {
	UPN          string
	Status       TokenStatus
	Manufacturer string
	Model        string
}

// AppPassword is an app password as listed: never the password, nor its hash.
type AppPassword struct {
	ID         string
	UPN        string // the owner as stored
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never
}

// AuthApp is an authenticator-app registration (a software TOTP method) as stored, without
// its secret.
type AuthApp struct {
	ID         string // random; also the label its secret is sealed under
	UPN        string // the owner as stored
	Name       string
	Issuer     string
	Hash       string
	Digits     int
	Period     int
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never
}

// NewAuthApp describes an authenticator app to register. Secret is the raw shared secret.
type NewAuthApp struct {
	Name   string
	Issuer string
	Secret []byte
	Hash   string // empty: SHA1
	Digits int    // 0: 6
	Period int    // 0: 30
	// AuditNote is added to the audit row of the enrolment (e.g. where the QR code went).
	AuditNote string
}

// ResetToken is a hardware token a registration reset takes from its user.
type ResetToken struct {
	Serial string
	Status TokenStatus // before the reset
	// NewStatus is available, or disabled for a token that was disabled (a lost or locked
	// token must not go back into stock as usable).
	NewStatus TokenStatus
}

// RegistrationReset says what ResetRegistrations changed for one user, or would change in a
// dry run.
type RegistrationReset struct {
	UPN string // as stored
	// Tokens are the user's hardware tokens, now unassigned, ordered by serial.
	Tokens []ResetToken
	// AuthApps are the authenticator-app registrations removed, ordered by creation.
	AuthApps []AuthApp
	// AppPasswordsKept counts the app passwords, which a reset leaves alone (as in Azure).
	AppPasswordsKept int
	// WasMustRegister is the flag before the reset; afterwards it is always set.
	WasMustRegister bool
	// Methods are the other authentication methods removed, in the order they go ("phone
	// mobile", "email ..."): only Microsoft Entra ID has them; the SQL backends leave it nil.
	Methods []string
}

// UserImportOptions control ImportUsers.
type UserImportOptions struct {
	// Update overwrites display name, email and phone of existing users; otherwise they are
	// skipped. Identical users are always left alone.
	Update bool
	// DryRun does everything but the commit.
	DryRun bool
	// AuditTarget names the source (the file) in the audit row the import writes in its
	// transaction; empty: no row.
	AuditTarget string
	// SourceRows, when set, is how many rows the source read, for the audit row (rows the
	// source rejected itself never reach the directory).
	SourceRows func() int
}

// UserImportResult counts what ImportUsers did (or would do, for a dry run).
type UserImportResult struct {
	Created, Updated, Unchanged, Skipped int
}

// AuditDetail is what the audit log says of a reset: the user's tokens as they were, the
// authenticator apps removed and the app passwords kept.
func (r RegistrationReset) AuditDetail() string {
	toks := make([]string, len(r.Tokens))
	for i, t := range r.Tokens {
		s := t.Serial + " (" + string(t.Status)
		if t.NewStatus != StatusAvailable {
			s += ", stays " + string(t.NewStatus)
		}
		toks[i] = s + ")"
	}
	apps := make([]string, len(r.AuthApps))
	for i, a := range r.AuthApps {
		apps[i] = a.ID
	}
	return fmt.Sprintf("must_register set; tokens unassigned: %s; authenticator apps removed: %s; app passwords kept: %d",
		listOrNone(toks), listOrNone(apps), r.AppPasswordsKept)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
