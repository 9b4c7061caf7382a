package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Options are the details of an attempt that come from outside the directory.
type Options struct {
	// ClientIP is the address of the client that is signing in, when known (already checked to
	// be an IP address by the caller).
	ClientIP string
}

// Verify checks a code against every activated hardware token and authenticator app of the
// user, within VerifyWindow steps of each method's learned drift, and records the attempt.
//
// The code is normalised first (tokens.NormalizeCode); one that cannot be a code of any of
// the user's methods (not digits, or not as many as any method's codes have) is a
// tokens.CodeError and no attempt: nothing is recorded or counted.
//
// The order of checks: an unknown user, a blocked user, a user without a method and a user
// whose OATH methods are locked are denied without looking at the code (and without counting
// a failure). Otherwise a code matching a step newer than the method's last accepted step
// succeeds: that step becomes the last accepted one, the drift is re-learned and the user's
// failure count resets. A code matching the last accepted step is a duplicate (also when that
// step has left the window), an earlier one within the window old: a replay. Replays are
// denied and recorded but count no failure: the code is right, only used, and whoever saw a
// user sign in could otherwise lock them out by replaying what they saw. Incorrect codes count
// a failure, and MaxFailures in a row lock the user's OATH methods until ClearUserLockout
// (tokens enable) or users unblock.
//
// Denials are results, not errors; errors are a malformed code and failures of the directory.
func (s *Service) Verify(ctx context.Context, upn, code string, opts Options) (Result, error) {
	code, err := tokens.NormalizeCode(code)
	if err != nil {
		return Result{}, fmt.Errorf("verifying a code of %s: %w", upn, err)
	}
	r := Result{Time: s.now(), UPN: upn, Mode: ModeOATH}
	subj, err := s.store.AuthSubject(ctx, upn)
	if errors.Is(err, directory.ErrNotFound) {
		return s.record(ctx, deny(r, CodeUserUnknown, "user not found"), directory.User{}, opts)
	}
	if err != nil {
		return Result{}, fmt.Errorf("verifying a code of %s: %w", upn, err)
	}
	defer func() {
		for _, m := range subj.Methods {
			clear(m.Secret)
		}
	}()
	u := subj.User
	if err := codeFits(code, subj.Methods); err != nil {
		return Result{}, fmt.Errorf("verifying a code of %s: %w", u.UPN, err)
	}
	r.UPN = u.UPN
	r.Mode, r.DeviceToken = describe(subj.Methods)
	switch {
	case u.State == directory.UserBlocked:
		return s.record(ctx, deny(r, CodeUserBlocked, blockedReason(u)), u, opts)
	case len(subj.Methods) == 0:
		return s.record(ctx, deny(r, CodeNoMethod, "no activated hardware token or authenticator app"), u, opts)
	case u.Locked:
		return s.record(ctx, deny(r, CodeThrottled, lockedReason), u, opts)
	}

	// Compute every method's window before deciding, so the time taken does not depend on
	// which method (if any) matched.
	var fresh, replay *match
	for _, m := range subj.Methods {
		p := tokens.OTPParams{Hash: m.Hash, Digits: m.Digits}
		center := tokens.Step(r.Time, m.Period) + int64(m.Drift)
		off, ok, err := tokens.MatchCode(m.Secret, p, code, center, VerifyWindow)
		if err != nil {
			return Result{}, fmt.Errorf("verifying a code of %s with %s: %w", u.UPN, m.DeviceToken(), err)
		}
		// The last accepted code is a replay however long ago it was used, not an incorrect
		// code that counts toward the lockout. Computed for every method with a last step,
		// matched or not, so the time taken says nothing.
		var used bool
		if m.LastStep > 0 {
			if _, used, err = tokens.MatchCode(m.Secret, p, code, m.LastStep, 0); err != nil {
				return Result{}, fmt.Errorf("verifying a code of %s with %s: %w", u.UPN, m.DeviceToken(), err)
			}
		}
		if !ok && used {
			ok, off = true, int(m.LastStep-center)
		}
		if !ok {
			continue
		}
		mt := &match{method: m, step: center + int64(off), drift: m.Drift + off, last: m.LastStep}
		switch {
		case mt.step > m.LastStep && fresh == nil:
			fresh = mt
		case mt.step <= m.LastStep && replay == nil:
			replay = mt
		}
	}

	var out Result
	err = s.store.InAuthTx(ctx, func(tx directory.AuthTx) error {
		r := r // the closure must not leak changes into its captured variables
		out = r
		// What was read before the transaction may have changed meanwhile.
		state, locked, err := tx.UserGuard(u.ID)
		if err != nil {
			return err
		}
		switch {
		case state == directory.UserBlocked:
			out = deny(r, CodeUserBlocked, blockedReason(u))
			return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
		case locked:
			out = deny(r, CodeThrottled, lockedReason)
			return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
		}
		if fresh != nil {
			ok, last, err := tx.AcceptStep(fresh.method, fresh.step, fresh.drift)
			if errors.Is(err, directory.ErrNotFound) || (err == nil && !ok && last < fresh.step) {
				// Disabled, unassigned or deleted since it was read: not the user's failure.
				out = deny(on(r, fresh.method), CodeNoMethod, fmt.Sprintf("%s was removed or disabled during the verification", fresh.method.DeviceToken()))
				return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
			}
			if err != nil {
				return err
			}
			if ok {
				if err := tx.ResetFailures(u.ID); err != nil {
					return err
				}
				out = on(r, fresh.method)
				out.Success, out.Code = true, CodeVerified
				return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
			}
			// Another attempt accepted this step (or a later one) first.
			fresh.last = last
			replay = fresh
		}
		if replay != nil {
			// The right code, already used (here or by a concurrent attempt that won the
			// step): recorded, but no failure counted, so replays cannot lock the user out.
			// last_step only grows, so a step at or below the one read is still a replay.
			code, reason := CodeOld, "code older than the last accepted one"
			if replay.step == replay.last {
				code, reason = CodeDuplicate, "code already used"
			}
			out = deny(on(r, replay.method), code, reason)
			return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
		}
		failed, nowLocked, err := tx.RecordFailure(u.ID, MaxFailures)
		if err != nil {
			return err
		}
		reason := fmt.Sprintf("incorrect code (%d of %d consecutive failures)", failed, MaxFailures)
		if nowLocked {
			reason += "; OATH methods locked"
		}
		out = deny(r, CodeIncorrect, reason)
		return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
	})
	if err != nil {
		return Result{}, fmt.Errorf("verifying a code of %s: %w", u.UPN, err)
	}
	return out, nil
}

// codeFits checks a normalised code has as many digits as the codes of one of the methods
// (any length MinCodeDigits..MaxCodeDigits when there is no method, which is denied anyway).
func codeFits(code string, ms []directory.OATHMethod) error {
	if len(ms) == 0 {
		return nil
	}
	for _, m := range ms {
		if len(code) == m.Digits {
			return nil
		}
	}
	return tokens.CheckCodeLength(code, ms[0].Digits)
}

// match is a method whose window holds the code.
type match struct {
	method directory.OATHMethod
	step   int64 // the matched time step
	drift  int   // the drift it implies
	last   int64 // the method's last accepted step
}

const lockedReason = "OATH methods locked after 10 consecutive failed verifications"

func blockedReason(u directory.User) string {
	if u.BlockedReason != "" {
		return "user is blocked: " + u.BlockedReason
	}
	return "user is blocked"
}

func deny(r Result, code, reason string) Result {
	r.Success, r.Code, r.Reason = false, code, reason
	return r
}

// on names the method in the result.
func on(r Result, m directory.OATHMethod) Result {
	r.Mode, r.DeviceToken = modeOf(m), m.DeviceToken()
	return r
}

func modeOf(m directory.OATHMethod) string {
	if m.Kind == directory.MethodApp {
		return ModeApp
	}
	return ModeHardware
}

// describe names the methods of a denial that is not about one method: the method itself when
// the user has exactly one, else the common mode (or ModeOATH) and no device.
func describe(ms []directory.OATHMethod) (mode, device string) {
	switch len(ms) {
	case 0:
		return ModeOATH, ""
	case 1:
		return modeOf(ms[0]), ms[0].DeviceToken()
	}
	mode = modeOf(ms[0])
	for _, m := range ms[1:] {
		if modeOf(m) != mode {
			return ModeOATH, ""
		}
	}
	return mode, ""
}

// record writes the event of a denial that changes nothing else.
func (s *Service) record(ctx context.Context, r Result, u directory.User, opts Options) (Result, error) {
	err := s.store.InAuthTx(ctx, func(tx directory.AuthTx) error {
		return tx.AddAuthEvent(s.event(r, u, opts.ClientIP))
	})
	if err != nil {
		return Result{}, fmt.Errorf("recording the auth event: %w", err)
	}
	return r, nil
}
