package usercmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/users"
)

type appPasswordsRevokeOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upn    string
	id     string // empty: all of the user's
	yes    bool
	format string
}

func newAppPasswordsRevokeCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &appPasswordsRevokeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "revoke UPN",
		Short: "Revoke all of a user's app passwords, or one",
		Long: `Delete the user's app passwords: all of them (the lost-phone case), or with --id only one.
Applications using a revoked password fail to sign in from then on. The revoked passwords are
listed on standard output; a user without app passwords is not an error.

Revoking all of them asks for confirmation on a terminal; otherwise pass --yes. Revoking one
with --id does not ask.`,
		Example: `  $ mfactl users app-passwords revoke helga@contoso.com
  $ mfactl users app-passwords revoke helga@contoso.com --yes -o json
  $ mfactl users app-passwords revoke helga@contoso.com --id 3kq7m2xv9a4bcdef`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.upn, err = upnArg(args[0]); err != nil {
				return err
			}
			if cmd.Flags().Changed("id") && opts.id == "" {
				return cmdutil.Usagef("--id: empty id (omit --id to revoke all of the user's app passwords)")
			}
			if err := users.CheckText("--id", opts.id); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if opts.id == "" {
				if err := f.CanConfirm(opts.yes, "revoke all of a user's app passwords"); err != nil {
					return err
				}
			}
			opts.cmd = cmd
			return appPasswordsRevokeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.id, "id", "", "revoke only the app password with this `id` (see app-passwords list)")
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "revoke all without asking for confirmation (needed when stdin is not a terminal)")
	return cmd
}

func appPasswordsRevokeRun(ctx context.Context, opts *appPasswordsRevokeOptions) error {
	f := opts.f
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	if opts.id == "" && !opts.yes {
		// Look the passwords up first: a typo in the UPN, or a user with none, needs no answer,
		// and the question says how many go.
		have, err := users.ListAppPasswords(ctx, db, opts.upn)
		if err != nil {
			_ = db.RecordRefusal(ctx, opts.upn, err)
			return err
		}
		if len(have) > 0 {
			q := fmt.Sprintf("Revoke all %s of user %s?", countOf(len(have), "app password"), have[0].UPN)
			ok, err := f.Confirm(q, opts.yes, "revoke all of a user's app passwords")
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(f.IO.ErrOut, "mfactl: revoke cancelled; nothing was changed")
				return cmdutil.ErrSilent
			}
		}
	}
	revoked, err := users.RevokeAppPasswords(ctx, db, opts.upn, opts.id)
	if err != nil {
		return err
	}
	if err := renderAppPasswords(f, f.IO.Out, opts.format, revoked); err != nil {
		return err
	}
	if len(revoked) == 0 && !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: user %s has no app passwords; nothing to revoke\n", opts.upn)
	}
	return nil
}

// countOf is "1 app password" or "n app passwords".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
