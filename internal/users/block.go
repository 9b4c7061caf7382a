package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
)

// BlockStore is what Block and Unblock need of the directory.
type BlockStore interface {
	BlockUser(ctx context.Context, upn, reason string) (directory.User, bool, error)
	UnblockUser(ctx context.Context, upn string) (directory.User, bool, error)
}

// Block blocks the user: every verification is then denied (FAILED_USER_BLOCKED) until
// Unblock. Blocking a blocked user replaces the reason. It returns the user afterwards and
// whether anything changed.
func Block(ctx context.Context, st BlockStore, upn, reason string) (directory.User, bool, error) {
	if err := CheckText("reason", reason); err != nil {
		return directory.User{}, false, err
	}
	u, changed, err := st.BlockUser(ctx, upn, reason)
	if err != nil {
		return directory.User{}, false, wrap("blocking", upn, err)
	}
	return u, changed, nil
}

// Unblock makes the user active again and lifts a lockout after failed verifications. It
// returns the user afterwards and whether anything changed.
func Unblock(ctx context.Context, st BlockStore, upn string) (directory.User, bool, error) {
	u, changed, err := st.UnblockUser(ctx, upn)
	if err != nil {
		return directory.User{}, false, wrap("unblocking", upn, err)
	}
	return u, changed, nil
}

// wrap adds what was being done to err, except to not-found and limit errors, which already
// name the user ("user x not found" reads better than "blocking user x: user x not found").
func wrap(doing, upn string, err error) error {
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrLimit) {
		return err
	}
	return fmt.Errorf("%s user %s: %w", doing, upn, err)
}
