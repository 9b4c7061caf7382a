package tokencmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

type enableOptions struct {
	f      *cmdutil.Factory
	serial string
}

func newEnableCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &enableOptions{f: f}
	cmd := &cobra.Command{
		Use:   "enable SERIAL",
		Short: "Allow a disabled or locked token again",
		Long: `Enable a token that was disabled, or locked after too many failed activations, and clear its
failed-attempt counter. It returns to activated when it had been activated, to assigned when it
has an owner, else to available.

It also lifts its owner's lockout after 10 failed verifications (as users unblock does).`,
		Example: `  $ mfactl tokens enable GALT2100400`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.serial, err = textArg("serial number", args[0], false); err != nil {
				return err
			}
			return enableRun(cmd.Context(), cmd, opts)
		},
	}
	return cmd
}

func enableRun(ctx context.Context, cmd *cobra.Command, opts *enableOptions) error {
	f := opts.f
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	t, err := db.GetToken(ctx, opts.serial)
	if err == nil && t.Status != directory.StatusDisabled && t.Status != directory.StatusFailedActivation && !ownerLocked(ctx, db, t) {
		f.Note("token %s is not disabled (status %s)", t.Serial, t.Status)
		return nil
	}
	if err == nil {
		err = db.EnableToken(ctx, opts.serial)
	}
	if err != nil {
		_ = db.RecordRefusal(ctx, opts.serial, err)
		return fmt.Errorf("enabling token %s: %w", opts.serial, err)
	}
	f.Note("enabled token %s", opts.serial)
	return nil
}

// ownerLocked reports whether the token's owner is locked out after failed verifications.
func ownerLocked(ctx context.Context, db *store.DB, t directory.Token) bool {
	if t.UPN == "" {
		return false
	}
	u, err := db.GetUser(ctx, t.UPN)
	return err == nil && (u.Locked || u.FailedAttempts > 0)
}
