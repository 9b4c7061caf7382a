package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// ActivateOptions control Activate.
type ActivateOptions struct {
	Options
	// AssignTo assigns the token to this user first (as `tokens assign` would, without
	// --force), so assignment and activation are one step. Empty: the token must already be
	// assigned.
	AssignTo string
	// Window is the drift absorbed, in time steps each way (DefaultActivationWindow is the
	// usual value; 0 accepts only the current step). At most tokens.MaxWindow.
	Window int
}

// Activate proves possession of an assigned hardware token with a code it shows, accepted
// within opts.Window steps of the current time; the matched offset becomes the token's drift
// and the matched step its last accepted step (so the activation code cannot be replayed to
// sign in). A wrong code makes the token failed_activation; MaxFailures in a row disable it
// with LockReason until `tokens enable`. Unknown, unassigned, disabled, locked and already
// activated tokens are denied without looking at the code. Every attempt is recorded.
//
// A code of a step at or before the token's last accepted one (a token activated, used and
// then re-issued keeps that step) is a replay, denied as CodeDuplicate or CodeOld as in
// Verify, and for the same reason counts no failed activation and leaves the status as it
// was: it is the token's code, only used, and whoever saw it could otherwise lock a token
// being re-issued. A code that cannot be the token's (tokens.NormalizeCode, or not the
// token's number of digits) is a tokens.CodeError before anything is assigned or recorded.
//
// Denials are results; errors are a malformed code, a failed assignment (AssignTo: unknown
// user, a token owned by someone else, too many methods) and failures of the directory.
func (s *Service) Activate(ctx context.Context, serial, code string, opts ActivateOptions) (Result, error) {
	if opts.Window < 0 || opts.Window > tokens.MaxWindow {
		return Result{}, fmt.Errorf("activation window %d out of range 0..%d", opts.Window, tokens.MaxWindow)
	}
	code, err := tokens.NormalizeCode(code)
	if err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", serial, err)
	}
	r := Result{Time: s.now(), UPN: opts.AssignTo, Serial: serial, DeviceToken: serial, Mode: ModeHardware}
	tok, err := s.store.GetToken(ctx, serial)
	if errors.Is(err, directory.ErrNotFound) {
		return s.recordActivation(ctx, deny(r, CodeTokenUnknown, "token not found"), directory.User{}, opts.Options)
	}
	if err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", serial, err)
	}
	if err := tokens.CheckCodeLength(code, tok.Digits); err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", tok.Serial, err)
	}
	if opts.AssignTo != "" {
		prev, err := s.store.AssignToken(ctx, tok.Serial, opts.AssignTo, false, 0)
		if err != nil {
			return Result{}, fmt.Errorf("assigning token %s to %s: %w", tok.Serial, opts.AssignTo, err)
		}
		r.Assigned = prev == "" || directory.Key(prev) != directory.Key(opts.AssignTo)
		if tok, err = s.store.GetToken(ctx, tok.Serial); err != nil {
			return Result{}, fmt.Errorf("activating token %s: %w", serial, err)
		}
	}
	r = withToken(r, tok)
	var u directory.User
	if tok.UPN != "" {
		if u, err = s.store.GetUser(ctx, tok.UPN); err != nil {
			return Result{}, fmt.Errorf("activating token %s: %w", tok.Serial, err)
		}
	}
	if code, reason, denied := stateDenial(tok); denied {
		return s.recordActivation(ctx, deny(r, code, reason), u, opts.Options)
	}

	secret, err := s.store.TokenSecret(ctx, tok.Serial)
	if err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", tok.Serial, err)
	}
	center := tokens.Step(r.Time, tok.Period)
	off, ok, err := tokens.MatchCode(secret, tokens.OTPParams{Hash: tok.Hash, Digits: tok.Digits}, code, center, opts.Window)
	clear(secret)
	if err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", tok.Serial, err)
	}
	step := center + int64(off)

	var out Result
	err = s.store.InAuthTx(ctx, func(tx directory.AuthTx) error {
		// done records the attempt's auth event and audit row with the change it made.
		done := func(out Result) error {
			if err := tx.AddAuthEvent(s.event(out, u, opts.ClientIP)); err != nil {
				return err
			}
			return tx.Audit(activationAudit(out))
		}
		// classify records a denial that changes nothing, as the token is now: a write that
		// touched nothing (the token changed since it was read: its state says why, else only
		// the step condition is left), or a replay.
		classify := func(code, reason string) error {
			now, err := tx.Token(tok.Serial)
			if err != nil {
				return err
			}
			out = withToken(r, now)
			if c, why, denied := stateDenial(now); denied {
				code, reason = c, why
			}
			out = deny(out, code, reason)
			return done(out)
		}
		if ok && step > tok.LastStep {
			activated, err := tx.ActivateToken(tok.ID, step, off)
			if err != nil {
				return err
			}
			if !activated {
				return classify(CodeDuplicate, "code already used")
			}
			out = r
			out.Success, out.Code = true, CodeActivated
			out.Status, out.Drift, out.FailedAttempts = directory.StatusActivated, off, 0
			return done(out)
		}
		switch {
		case ok && step == tok.LastStep:
			return classify(CodeDuplicate, "code already used")
		case ok:
			return classify(CodeOld, "code older than the last accepted one")
		}
		failed, status, counted, err := tx.FailActivation(tok.ID, MaxFailures, LockReason)
		if err != nil {
			return err
		}
		if !counted {
			return classify(CodeDuplicate, "code already used")
		}
		reason := fmt.Sprintf("incorrect code (%d of %d failed activations)", failed, MaxFailures)
		if status == directory.StatusDisabled {
			reason += "; token locked"
		}
		out = deny(r, CodeIncorrect, reason)
		out.Status, out.FailedAttempts = status, failed
		return done(out)
	})
	if err != nil {
		return Result{}, fmt.Errorf("activating token %s: %w", tok.Serial, err)
	}
	return out, nil
}

// recordActivation records an activation attempt denied without a change: its auth event and
// its audit row, in one transaction.
func (s *Service) recordActivation(ctx context.Context, r Result, u directory.User, opts Options) (Result, error) {
	err := s.store.InAuthTx(ctx, func(tx directory.AuthTx) error {
		if err := tx.AddAuthEvent(s.event(r, u, opts.ClientIP)); err != nil {
			return err
		}
		return tx.Audit(activationAudit(r))
	})
	if err != nil {
		return Result{}, fmt.Errorf("recording the auth event: %w", err)
	}
	return r, nil
}

// activationAudit is the audit row of an activation attempt: the token, and what came of it.
// An assignment made on the way (ActivateOptions.AssignTo) has its own row.
func activationAudit(r Result) (target, result, detail string) {
	if r.Success {
		return r.Serial, "success", fmt.Sprintf("activated for %s with a drift of %d steps", r.UPN, r.Drift)
	}
	return r.Serial, "failure", fmt.Sprintf("%s: %s", r.Code, r.Reason)
}

// withToken fills the result's token fields from the token as stored.
func withToken(r Result, t directory.Token) Result {
	r.Serial, r.DeviceToken, r.UPN = t.Serial, t.Serial, t.UPN
	r.Status, r.Drift, r.FailedAttempts = t.Status, t.Drift, t.FailedAttempts
	return r
}

// stateDenial says whether the token's state forbids activation, and with which code.
func stateDenial(t directory.Token) (code, reason string, denied bool) {
	switch {
	case t.UPN == "":
		return CodeTokenUnassigned, "token is not assigned to a user", true
	case t.Status == directory.StatusActivated:
		return CodeTokenIsActivated, "token is already activated", true
	case t.Status == directory.StatusDisabled && t.DisabledReason == LockReason:
		return CodeTokenLocked, "token " + LockReason, true
	case t.Status == directory.StatusDisabled && t.DisabledReason != "":
		return CodeTokenDisabled, "token is disabled: " + t.DisabledReason, true
	case t.Status == directory.StatusDisabled:
		return CodeTokenDisabled, "token is disabled", true
	}
	return "", "", false
}
