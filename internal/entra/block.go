package entra

import (
	"context"
	"fmt"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// BlockUser disables the user's sign-in (accountEnabled false) and returns the user afterwards
// and whether anything changed. Entra ID has no place for a reason, so reason is not kept: the
// caller says so.
func (d *Directory) BlockUser(ctx context.Context, upn, _ string) (directory.User, bool, error) {
	return d.setEnabled(ctx, upn, false)
}

// UnblockUser enables the user's sign-in again (accountEnabled true). Entra ID's smart lockout
// is its own and not lifted here.
func (d *Directory) UnblockUser(ctx context.Context, upn string) (directory.User, bool, error) {
	return d.setEnabled(ctx, upn, true)
}

func (d *Directory) setEnabled(ctx context.Context, upn string, enabled bool) (directory.User, bool, error) {
	g, err := d.c.GetUser(ctx, upn)
	if graph.IsNotFound(err) {
		return directory.User{}, false, &directory.NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return directory.User{}, false, fmt.Errorf("reading user %s of %s: %w", upn, d.tenant, err)
	}
	if g.AccountEnabled != nil && *g.AccountEnabled == enabled {
		return user(*g), false, nil
	}
	if err := d.c.SetAccountEnabled(ctx, g.ID, enabled); err != nil {
		return directory.User{}, false, err
	}
	g.AccountEnabled = &enabled
	return user(*g), true, nil
}
