package usercmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/users"
)

type appPasswordsListOptions struct {
	f      *cmdutil.Factory
	upn    string // empty: everyone's
	format string
}

func newAppPasswordsListCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &appPasswordsListOptions{f: f}
	cmd := &cobra.Command{
		Use:   "list [UPN]",
		Short: "List app passwords, of one user or of everyone",
		Long: `List app passwords by user and creation time: id, owner, name and creation time. The
passwords themselves are never shown; mfactl does not have them.`,
		Example: `  $ mfactl users app-passwords list helga@contoso.com
  $ mfactl users app-passwords list -o csv > app-passwords.csv`,
		Args: cmdutil.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if len(args) == 1 {
				if opts.upn, err = upnArg(args[0]); err != nil {
					return err
				}
			}
			return appPasswordsListRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func appPasswordsListRun(ctx context.Context, opts *appPasswordsListOptions) error {
	db, err := opts.f.ReadStore(ctx)
	if err != nil {
		return err
	}
	ps, err := users.ListAppPasswords(ctx, db, opts.upn)
	if err != nil {
		return err
	}
	return renderAppPasswords(opts.f, opts.f.IO.Out, opts.format, ps)
}
