package usercmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/users"
)

type appPasswordsCreateOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upn    string
	name   string
	format string
}

func newAppPasswordsCreateCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &appPasswordsCreateOptions{f: f}
	cmd := &cobra.Command{
		Use:   "create UPN",
		Short: "Generate an app password for a user and print it once",
		Long: `Generate a 16-character app password for the user, print it once on standard output and
store only its argon2id hash. It cannot be shown again: give it to the user over a channel you
trust, or revoke it and create another.

-o json prints {"id", "upn", "name", "password", "created_at"}.`,
		Example: `  $ mfactl users app-passwords create helga@contoso.com --name "Outlook 2013"
  $ mfactl users app-passwords create helga@contoso.com -o json | jq -r .password`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.upn, err = upnArg(args[0]); err != nil {
				return err
			}
			if err := users.CheckText("--name", opts.name); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			opts.cmd = cmd
			return appPasswordsCreateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.name, "name", "", "what the password is for, shown in listings (default \""+users.DefaultAppPasswordName+"\")")
	return cmd
}

// createdAppPasswordView is the one-time result of create: the listing view plus the password.
type createdAppPasswordView struct {
	ID        string  `json:"id"`
	UPN       string  `json:"upn"`
	Name      string  `json:"name"`
	Password  string  `json:"password"`
	CreatedAt *string `json:"created_at"`
}

func appPasswordsCreateRun(ctx context.Context, opts *appPasswordsCreateOptions) error {
	f := opts.f
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	created, err := users.CreateAppPassword(ctx, db, opts.upn, opts.name)
	if err != nil {
		return err
	}
	v := newAppPasswordView(created.AppPassword)
	out := createdAppPasswordView{ID: v.ID, UPN: v.UPN, Name: v.Name, Password: created.Password, CreatedAt: v.CreatedAt}
	human := opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY()
	row := []string{out.ID, out.UPN, out.Name, out.Password, view.TimeCell(out.CreatedAt, human)}
	if err := render.Rows(f.IO.Out, opts.format, out, []string{"id", "upn", "name", "password", "created at"}, [][]string{row}); err != nil {
		return err
	}
	if !f.Quiet {
		fmt.Fprintln(f.IO.ErrOut, "mfactl: the password is shown only this once; mfactl keeps only a hash of it")
	}
	return nil
}
