// Package auth decides second-factor checks: activating a hardware token (the admin proves
// possession with a code, within a drift window) and verifying a user's code or app password,
// with replay protection and lockout. Every attempt is recorded as an auth event with a result
// code (docs/auth-events.md) in the same transaction as its effects.
//
// Activation lives here rather than in internal/tokens because it is an authentication attempt
// like verification: it shares the result codes, the event, the OTP window scan and the
// conditional writes that make concurrent attempts safe. internal/tokens stays about token
// files and codes.
//
// The package never sees the command line: it takes a Store (every directory.Directory is one), a
// clock and the server's identity, and returns typed results.
package auth

import (
	"context"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// Store is what activation and verification need from the directory; every directory.Directory has it.
type Store interface {
	AuthSubject(ctx context.Context, upn string) (directory.AuthSubject, error)
	GetUser(ctx context.Context, upn string) (directory.User, error)
	GetToken(ctx context.Context, serial string) (directory.Token, error)
	TokenSecret(ctx context.Context, serial string) ([]byte, error)
	AssignToken(ctx context.Context, serial, upn string, force bool, maxMethods int) (previous string, err error)
	AppPasswordHashes(ctx context.Context, userID int64) ([]directory.AppPasswordHash, error)
	InAuthTx(ctx context.Context, fn func(directory.AuthTx) error) error
}

// Server names this machine in auth events.
type Server struct {
	Name string
	IP   string
}

// Service activates tokens and verifies codes against a directory.
type Service struct {
	store  Store
	now    func() time.Time
	server Server
}

// New returns a Service over the store, with a clock (nil: time.Now) and the server's identity
// for auth events.
func New(s Store, now func() time.Time, server Server) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now, server: server}
}

// Limits of activation and verification (docs/auth-events.md).
const (
	// MaxFailures is the number of consecutive failures that locks: a token's activation, or a
	// user's OATH methods for verification.
	MaxFailures = 10
	// DefaultActivationWindow is the drift absorbed at activation, in time steps each way.
	DefaultActivationWindow = 10
	// VerifyWindow is the drift absorbed at verification, in steps each way around the drift
	// learned so far.
	VerifyWindow = 1
)

// LockReason is the disabled reason of a token locked by failed activations; `tokens enable`
// lifts it.
const LockReason = "locked after 10 failed activations"

// Result is the outcome of one attempt, as recorded in its auth event.
type Result struct {
	Time        time.Time
	UPN         string // the user as stored; as given when unknown; the owner for activations
	DeviceToken string // token serial, authenticator-app id or app-password id; may be empty
	Mode        string // ModeHardware, ModeApp, ModeOATH or ModeAppPassword
	Success     bool
	Code        string // result code, e.g. CodeVerified
	Reason      string // why it was denied, or what happened; never secret material

	// Activation only.
	Serial         string                // the token's serial as stored (as given when unknown)
	Status         directory.TokenStatus // the token's status afterwards ("" when unknown)
	Drift          int                   // the token's drift afterwards, in time steps
	FailedAttempts int                   // the token's consecutive failed activations afterwards
	Assigned       bool                  // AssignTo assigned the token in this attempt
}

// ResultWord is the event's result field: "success" or "denied".
func (r Result) ResultWord() string {
	if r.Success {
		return ResultSuccess
	}
	return ResultDenied
}

// Event results.
const (
	ResultSuccess = "success"
	ResultDenied  = "denied"
)

// Authentication modes recorded in events.
const (
	ModeHardware    = "oath-hardware" // a hardware token
	ModeApp         = "oath-app"      // an authenticator app
	ModeOATH        = "oath"          // a code checked against several kinds of method, or none
	ModeAppPassword = "app-password"
)

// event builds the auth event of a result for a user (zero User when unknown).
func (s *Service) event(r Result, u directory.User, clientIP string) directory.AuthEvent {
	first, last := SplitName(u.DisplayName)
	return directory.AuthEvent{
		Time:        r.Time,
		UPN:         r.UPN,
		FirstName:   first,
		LastName:    last,
		Email:       u.Email,
		Phone:       u.Phone,
		DeviceToken: r.DeviceToken,
		Mode:        r.Mode,
		Result:      r.ResultWord(),
		ResultCode:  r.Code,
		Reason:      r.Reason,
		ServerName:  s.server.Name,
		ServerIP:    s.server.IP,
		ClientIP:    clientIP,
	}
}

// SplitName splits a display name into first and last name for auth events: "Last, First"
// when it holds a comma, otherwise the first word and the rest ("Ada King Lovelace" gives
// "Ada" and "King Lovelace"). A single word is a first name.
func SplitName(display string) (first, last string) {
	display = strings.TrimSpace(display)
	if l, f, ok := strings.Cut(display, ","); ok {
		return strings.TrimSpace(f), strings.TrimSpace(l)
	}
	f, l, _ := strings.Cut(display, " ")
	return f, strings.TrimSpace(l)
}
