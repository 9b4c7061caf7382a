package usercmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/users"
)

type unblockOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upn    string
	format string
}

func newUnblockCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &unblockOptions{f: f}
	cmd := &cobra.Command{
		Use:   "unblock UPN",
		Short: "Unblock a user and lift a lockout after failed verifications",
		Long: `Make a blocked user active again. It also lifts the lockout that follows too many failed
verifications (the failure counter goes back to 0), so it is the command for a user who is
locked out without being blocked, too.

Prints the user's state; -o json prints {"upn", "state", "blocked_reason", "failed_attempts",
"locked", "changed"}.`,
		Example: `  $ mfactl users unblock helga@contoso.com`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.upn, err = upnArg(args[0]); err != nil {
				return err
			}
			opts.cmd = cmd
			return unblockRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func unblockRun(ctx context.Context, opts *unblockOptions) error {
	f := opts.f
	db, err := blockDirectory(ctx, f)
	if err != nil {
		return err
	}
	u, changed, err := users.Unblock(ctx, db, opts.upn)
	if err != nil {
		return err
	}
	if err := renderUserState(f, opts.format, u, changed); err != nil {
		return err
	}
	if !changed {
		if cmdutil.IsEntra(db) && !f.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: user %s is not blocked; nothing changed\n", u.UPN)
			return nil
		}
		if !f.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: user %s is neither blocked nor locked out; nothing changed\n", u.UPN)
		}
		return nil
	}
	return nil
}
