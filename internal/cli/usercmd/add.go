package usercmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
	"github.com/mfactl/mfactl/internal/users"
)

type addOptions struct {
	f    *cmdutil.Factory
	user directory.User
}

func newAddCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &addOptions{f: f}
	cmd := &cobra.Command{
		Use:   "add UPN",
		Short: "Add a user to the directory",
		Long: `Add a user, named by their user principal name (UPN, name@domain; compared ignoring case),
with an optional display name, email address and phone number (+CountryCode Number, e.g.
+1 4255551234). Importing tokens creates the users they name, so this is for users who get a
token later or only use app passwords.`,
		Example: `  $ mfactl users add helga@contoso.com --display-name "Helga Hansen" --phone "+47 41234567"`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := &opts.user
			u.UPN = users.Text(args[0])
			u.DisplayName = users.Text(u.DisplayName)
			u.Email = users.Text(u.Email)
			u.Phone = strings.TrimSpace(u.Phone)
			ps := tokens.CheckUPN(0, u.UPN)
			if p, bad := tokens.FirstError(ps); bad {
				return cmdutil.Usagef("invalid UPN %q: %s", u.UPN, p.Message)
			}
			for _, p := range ps { // upn.mixed-script: the admin decides
				fmt.Fprintf(opts.f.IO.ErrOut, "mfactl: warning: the UPN %s [%s]\n", p.Message, p.Code)
			}
			if err := users.CheckText("the UPN", u.UPN); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if err := users.CheckText("--display-name", u.DisplayName); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if msg := users.EmailDefect(u.Email); msg != "" {
				return cmdutil.Usagef("--email: %s", msg)
			}
			if !users.ValidPhone(u.Phone) {
				return cmdutil.Usagef("--phone: want +CountryCode Number, e.g. +1 4255551234")
			}
			return addRun(cmd.Context(), cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.user.DisplayName, "display-name", "", "the user's full `name`")
	fl.StringVar(&opts.user.Email, "email", "", "the user's email `address`")
	fl.StringVar(&opts.user.Phone, "phone", "", "the user's phone `number`: +CountryCode Number")
	return cmd
}

func addRun(ctx context.Context, cmd *cobra.Command, opts *addOptions) error {
	f := opts.f
	db, err := f.Store(ctx)
	if err != nil {
		return err
	}
	if _, err := db.AddUser(ctx, opts.user); err != nil {
		return fmt.Errorf("adding user: %w", err)
	}
	f.Note("added user %s", opts.user.UPN)
	return nil
}
