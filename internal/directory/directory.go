// Package directory is mfactl's domain core: the model of an MFA directory (users, hardware
// tokens, authenticator apps, app passwords, auth and audit events), its rules (the method
// limit, the key that makes UPNs and serials equal) and typed errors, and Directory, the
// interface every backend implements. It depends on nothing of the project but ident, and
// never names a command-line flag: the CLI adds hints. docs/design.md has the layers.
package directory

import (
	"context"
	"iter"
	"time"
)

// Directory is a directory of users and their OATH methods, whatever keeps it. Use cases
// (internal/auth, internal/users, internal/report, the token import) take it, or the part of it
// they need. A backend bound to an actor (see Actor) writes the audit row of every change in
// the same transaction as the change; what it cannot do at all it refuses with an error that
// matches ErrUnsupported.
type Directory interface {
	Tokens
	Users
	AppPasswords
	Verifier
	Events
	Reports
	// RecordFailure records, in the name of the bound actor, a change of target that failed
	// or was refused before it reached the directory; RecordRefusal does so only when err is
	// a refusal of the directory (not found, conflict, limit).
	RecordFailure(ctx context.Context, target, detail string) error
	RecordRefusal(ctx context.Context, target string, err error) error
	Close() error
}

// Tokens is the hardware-token inventory.
type Tokens interface {
	GetToken(ctx context.Context, serial string) (Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)
	Tokens(ctx context.Context, f TokenFilter) iter.Seq2[Token, error]
	CountTokens(ctx context.Context) (map[TokenStatus]int, error)
	// TokenSecret decrypts a token's secret; callers clear it after use and never print it.
	TokenSecret(ctx context.Context, serial string) ([]byte, error)
	ImportTokens(ctx context.Context, src iter.Seq2[ImportRow, error], opts ImportOptions) (ImportResult, error)
	// AssignToken gives the token to the user (force: even when another user has it) and
	// returns the previous owner; maxMethods 0 means MaxMethods.
	AssignToken(ctx context.Context, serial, upn string, force bool, maxMethods int) (previous string, err error)
	UnassignToken(ctx context.Context, serial string) (previous string, err error)
	DisableToken(ctx context.Context, serial, reason string) error
	EnableToken(ctx context.Context, serial string) error
	DeleteTokens(ctx context.Context, serials ...string) error
}

// Users is the directory's users and their registrations.
type Users interface {
	GetUser(ctx context.Context, upn string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	AddUser(ctx context.Context, u User) (User, error)
	ImportUsers(ctx context.Context, src iter.Seq2[User, error], opts UserImportOptions) (UserImportResult, error)
	DeleteUser(ctx context.Context, upn string) error
	CountMethods(ctx context.Context, upn string) (int, error)
	BlockUser(ctx context.Context, upn, reason string) (User, bool, error)
	UnblockUser(ctx context.Context, upn string) (User, bool, error)
	// ResetRegistrations requires the users to register again (all of them or none); with
	// dryRun it changes nothing and returns what it would do.
	ResetRegistrations(ctx context.Context, upns []string, dryRun bool) ([]RegistrationReset, error)
	AddAuthApp(ctx context.Context, upn string, app NewAuthApp, maxMethods int) (AuthApp, error)
	ListAuthApps(ctx context.Context, upn string) ([]AuthApp, error)
}

// AppPasswords is the app passwords of users: only their hashes are kept.
type AppPasswords interface {
	AddAppPassword(ctx context.Context, upn, name, hash string) (AppPassword, error)
	ListAppPasswords(ctx context.Context, upn string) ([]AppPassword, error)
	RevokeAppPasswords(ctx context.Context, upn, id string) ([]AppPassword, error)
	AppPasswordHashes(ctx context.Context, userID int64) ([]AppPasswordHash, error)
}

// Verifier is what activation and verification read and write: the user with the secrets of
// their OATH methods, and a transaction in which each attempt's changes, auth event and
// audit row commit together.
type Verifier interface {
	AuthSubject(ctx context.Context, upn string) (AuthSubject, error)
	InAuthTx(ctx context.Context, fn func(AuthTx) error) error
}

// AuthTx is one attempt's transaction. Every change is conditional on what the decision
// assumed (a newer step, a token still awaiting activation), so a concurrent attempt that got
// there first makes it touch nothing instead of being overwritten.
type AuthTx interface {
	// UserGuard re-reads whether the user is blocked or locked out.
	UserGuard(userID int64) (state UserState, locked bool, err error)
	// AcceptStep records a verified code if step is newer than the method's last one.
	AcceptStep(m OATHMethod, step int64, drift int) (ok bool, last int64, err error)
	RecordFailure(userID int64, limit int) (failed int, locked bool, err error)
	ResetFailures(userID int64) error
	Token(serial string) (Token, error)
	ActivateToken(id int64, step int64, drift int) (bool, error)
	FailActivation(id int64, limit int, reason string) (failed int, status TokenStatus, ok bool, err error)
	TouchAppPassword(id string) error
	AddAuthEvent(e AuthEvent) error
	// Audit writes the audit row of the attempt's change in the bound actor's name.
	Audit(target, result, detail string) error
}

// Events is the auth and audit logs.
type Events interface {
	AddAuthEvent(ctx context.Context, e AuthEvent) error
	AddAuthEvents(ctx context.Context, events iter.Seq2[AuthEvent, error]) (int, error)
	ListAuthEvents(ctx context.Context, f AuthEventFilter) ([]AuthEvent, error)
	AuthEvents(ctx context.Context, f AuthEventFilter) iter.Seq2[AuthEvent, error]
	AddAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	AuditEvents(ctx context.Context, f AuditFilter) iter.Seq2[AuditEvent, error]
	// VerifyAuditChain checks the whole audit chain in id order (it needs the master key);
	// keptHead, when not nil, is a head kept earlier, looked for among the rows.
	VerifyAuditChain(ctx context.Context, keptHead []byte) (AuditChain, error)
}

// Reports is what the reports aggregate, in the backend where it can be done at scale.
type Reports interface {
	UsageEvents(ctx context.Context, f UsageFilter) iter.Seq2[AuthEvent, error]
	UsageCounts(ctx context.Context, f UsageFilter, by UsageDimension) iter.Seq2[UsageCount, error]
	RegistrationUsers(ctx context.Context) iter.Seq2[User, error]
	TokenInventory(ctx context.Context) ([]InventoryRow, error)
	UnusedTokens(ctx context.Context, cutoff time.Time) iter.Seq2[Token, error]
	// DriftHistory yields the drift points of every hardware token, token by token (in
	// serial order) and in time order within a token.
	DriftHistory(ctx context.Context) iter.Seq2[DriftPoint, error]
}
