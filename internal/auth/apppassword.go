package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/users"
)

// VerifyAppPassword checks a password against the user's app passwords and records the
// attempt (mode app-password; the device token is the id of the matching app password). Unknown
// and blocked users are denied, and so is a user without app passwords (CodeNoMethod). The
// OATH lockout does not apply: it guards 6-digit codes, while an app password has about 93 bits
// and a slow hash. Every stored hash is checked, so the time taken does not tell which matched.
func (s *Service) VerifyAppPassword(ctx context.Context, upn, password string, opts Options) (Result, error) {
	r := Result{Time: s.now(), UPN: upn, Mode: ModeAppPassword}
	u, err := s.store.GetUser(ctx, upn)
	if errors.Is(err, directory.ErrNotFound) {
		return s.record(ctx, deny(r, CodeUserUnknown, "user not found"), directory.User{}, opts)
	}
	if err != nil {
		return Result{}, fmt.Errorf("verifying an app password of %s: %w", upn, err)
	}
	r.UPN = u.UPN
	if u.State == directory.UserBlocked {
		return s.record(ctx, deny(r, CodeUserBlocked, blockedReason(u)), u, opts)
	}
	hashes, err := s.store.AppPasswordHashes(ctx, u.ID)
	if err != nil {
		return Result{}, fmt.Errorf("verifying an app password of %s: %w", u.UPN, err)
	}
	if len(hashes) == 0 {
		return s.record(ctx, deny(r, CodeNoMethod, "no app password"), u, opts)
	}
	matched := ""
	for _, h := range hashes {
		// A hash this version cannot read (ErrBadHash) matches nothing; the others still count.
		if ok, _ := users.VerifyAppPassword(h.Hash, password); ok && matched == "" {
			matched = h.ID
		}
	}
	var out Result
	err = s.store.InAuthTx(ctx, func(tx directory.AuthTx) error {
		state, _, err := tx.UserGuard(u.ID)
		if err != nil {
			return err
		}
		switch {
		case state == directory.UserBlocked:
			out = deny(r, CodeUserBlocked, blockedReason(u))
		case matched == "":
			out = deny(r, CodeAppPasswordIncorrect, "incorrect app password")
		default:
			if err := tx.TouchAppPassword(matched); err != nil {
				return err
			}
			out = r
			out.Success, out.Code, out.DeviceToken = true, CodeAppPasswordVerified, matched
		}
		return tx.AddAuthEvent(s.event(out, u, opts.ClientIP))
	})
	if err != nil {
		return Result{}, fmt.Errorf("verifying an app password of %s: %w", u.UPN, err)
	}
	return out, nil
}
