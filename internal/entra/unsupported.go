package entra

import (
	"context"
	"iter"

	"github.com/mfactl/mfactl/internal/directory"
)

// UnsupportedError is an operation this backend refuses; it matches directory.ErrUnsupported.
type UnsupportedError struct{ Msg string }

func (e *UnsupportedError) Error() string { return e.Msg }

// Is makes errors.Is(err, directory.ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == directory.ErrUnsupported }

// NotYet is the refusal of what Graph can do but this version of mfactl does not do yet; what
// names it ("assigning tokens").
func NotYet(what string) error {
	return &UnsupportedError{Msg: what + " on Microsoft Entra ID is not supported in this version of mfactl"}
}

// The refusals of what Graph can never do, with the reason and what to do instead.
var (
	// ErrAppPasswords: Graph has no API for app passwords.
	ErrAppPasswords error = &UnsupportedError{Msg: "app passwords cannot be managed on Microsoft Entra ID: Microsoft Graph has no API for them; " +
		"users create and delete their own at https://mysignins.microsoft.com/security-info, and administrators allow them on the " +
		"per-user MFA page (Entra admin center, Users, Per-user MFA, service settings)"}
	// ErrVerify: Entra ID checks codes itself, at sign-in.
	ErrVerify error = &UnsupportedError{Msg: "codes cannot be verified on Microsoft Entra ID: Entra ID checks OATH codes itself when the user signs in, " +
		"and Microsoft Graph has no API to check one; activate a token with its first code instead"}
	// ErrUserLifecycle: users come from the tenant.
	ErrUserLifecycle error = &UnsupportedError{Msg: "users cannot be added, deleted or imported on Microsoft Entra ID by mfactl: users come from the tenant; " +
		"create and delete them in the Entra admin center, with Microsoft Graph PowerShell or through your identity provisioning"}
	// ErrAuthApps: Graph cannot create software OATH methods.
	ErrAuthApps error = &UnsupportedError{Msg: "authenticator apps cannot be enrolled on Microsoft Entra ID by mfactl: Microsoft Graph cannot create " +
		"software OATH methods; users register them themselves at https://aka.ms/mfasetup"}
	// ErrEvents: the sign-in and audit logs are Entra ID's own.
	ErrEvents error = &UnsupportedError{Msg: "the authentication and audit events of Microsoft Entra ID are its own logs, which mfactl cannot write to"}
	// ErrNoDisabled: Graph has no disabled state for a hardware token.
	ErrNoDisabled error = &UnsupportedError{Msg: "tokens cannot be disabled or enabled on Microsoft Entra ID: Graph has no disabled state for a hardware token; unassign or delete it instead"}
	// ErrNoDrift: Graph keeps no drift of a hardware token.
	ErrNoDrift error = &UnsupportedError{Msg: "the drift report cannot be made on Microsoft Entra ID: Microsoft Graph keeps no drift of a hardware token"}
	// ErrSecrets: Graph never returns a token's secret.
	ErrSecrets error = &UnsupportedError{Msg: "token secrets cannot be read from Microsoft Entra ID: Microsoft Graph never returns them"}
)

// ---- tokens: not yet ----

func (d *Directory) TokenSecret(context.Context, string) ([]byte, error) { return nil, ErrSecrets }

// DisableToken: Graph has no disabled state for a hardware token.
func (d *Directory) DisableToken(context.Context, string, string) error { return ErrNoDisabled }

func (d *Directory) EnableToken(context.Context, string) error { return ErrNoDisabled }

// ---- users ----

func (d *Directory) AddUser(context.Context, directory.User) (directory.User, error) {
	return directory.User{}, ErrUserLifecycle
}

func (d *Directory) ImportUsers(context.Context, iter.Seq2[directory.User, error], directory.UserImportOptions) (directory.UserImportResult, error) {
	return directory.UserImportResult{}, ErrUserLifecycle
}

func (d *Directory) DeleteUser(context.Context, string) error { return ErrUserLifecycle }

func (d *Directory) AddAuthApp(context.Context, string, directory.NewAuthApp, int) (directory.AuthApp, error) {
	return directory.AuthApp{}, ErrAuthApps
}

// ---- app passwords: never ----

func (d *Directory) AddAppPassword(context.Context, string, string, string) (directory.AppPassword, error) {
	return directory.AppPassword{}, ErrAppPasswords
}

func (d *Directory) ListAppPasswords(context.Context, string) ([]directory.AppPassword, error) {
	return nil, ErrAppPasswords
}

func (d *Directory) RevokeAppPasswords(context.Context, string, string) ([]directory.AppPassword, error) {
	return nil, ErrAppPasswords
}

func (d *Directory) AppPasswordHashes(context.Context, int64) ([]directory.AppPasswordHash, error) {
	return nil, ErrAppPasswords
}

// ---- verification: never ----

func (d *Directory) AuthSubject(context.Context, string) (directory.AuthSubject, error) {
	return directory.AuthSubject{}, ErrVerify
}

func (d *Directory) InAuthTx(context.Context, func(directory.AuthTx) error) error { return ErrVerify }

// ---- events and audit ----

// RecordFailure and RecordRefusal write nothing: Entra ID's directory audit log records the
// changes made through Graph, and a refusal before Graph was reached changed nothing there.
func (d *Directory) RecordFailure(context.Context, string, string) error     { return nil }
func (d *Directory) RecordRefusal(context.Context, string, error) error      { return nil }
func (d *Directory) AddAuthEvent(context.Context, directory.AuthEvent) error { return ErrEvents }

func (d *Directory) AddAuthEvents(context.Context, iter.Seq2[directory.AuthEvent, error]) (int, error) {
	return 0, ErrEvents
}

func (d *Directory) ListAuthEvents(context.Context, directory.AuthEventFilter) ([]directory.AuthEvent, error) {
	return nil, NotYet("reading the sign-in log")
}

func (d *Directory) AuthEvents(context.Context, directory.AuthEventFilter) iter.Seq2[directory.AuthEvent, error] {
	return fail[directory.AuthEvent](NotYet("reading the sign-in log"))
}

func (d *Directory) AddAudit(context.Context, directory.AuditEvent) error { return ErrEvents }

func (d *Directory) VerifyAuditChain(context.Context, []byte) (directory.AuditChain, error) {
	return directory.AuditChain{}, &UnsupportedError{Msg: "Microsoft Entra ID has no mfactl audit chain to verify: its directory audit log is kept by Microsoft"}
}

// ---- reports: not yet ----

// DriftHistory: Graph keeps no drift of a hardware token.
func (d *Directory) DriftHistory(context.Context) iter.Seq2[directory.DriftPoint, error] {
	return fail[directory.DriftPoint](ErrNoDrift)
}

func fail[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}
