package reportcmd

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/report"
)

type registrationOptions struct {
	f      *cmdutil.Factory
	format string
}

func newRegistrationCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &registrationOptions{f: f}
	return &cobra.Command{
		Use:   "registration",
		Short: "Report each user's MFA registration: methods, tokens and app passwords",
		Long: `List every user with what they have registered: OATH methods (hardware tokens plus
authenticator apps), hardware tokens activated and pending activation, app passwords, whether
they must register again (after users reset) and whether they are blocked. Users without any
OATH method come first, then the others, each by UPN.

Fields: upn, display_name, email, phone, state, blocked_reason, must_register, methods,
tokens_activated, tokens_pending, app_passwords. JSON is an array of these objects and CSV has
these columns, named as in users list ("display name", ...); the table ends with a totals line (users, without any method, must register,
blocked, and the sums of the counts).`,
		Example: `  $ mfactl report registration
  $ mfactl report registration -o csv > registration.csv
  $ mfactl report registration -o json | jq '.[] | select(.methods == 0) | .upn'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			return registrationRun(cmd.Context(), opts)
		},
	}
}

// registrationView is one user of the registration report: the fields of the users listing
// (view.User) plus the reason of a block, after the state.
type registrationView struct {
	view.UserIdentity
	BlockedReason string `json:"blocked_reason"`
	view.UserMethods
}

func newRegistrationView(u directory.User) registrationView {
	v := view.NewUser(u)
	return registrationView{UserIdentity: v.UserIdentity, BlockedReason: u.BlockedReason, UserMethods: v.UserMethods}
}

// cells is v as table or CSV cells, in the order of registrationHeader.
func (v registrationView) cells() []string {
	return append(append(v.UserIdentity.Cells(), v.BlockedReason), v.UserMethods.Cells()...)
}

// registrationHeader is the users listing's header with the block reason after the state.
var registrationHeader = slices.Concat(view.UserIdentityHeader, []string{"blocked reason"}, view.UserMethodsHeader)

func registrationRun(ctx context.Context, opts *registrationOptions) error {
	return runReportAnywhere(ctx, opts.f, opts.format, func(r *report.Reporter, p *printer) (err error) {
		// The totals are counted on the last pass over the users (a long table reads them twice).
		var totals report.RegistrationTotals
		users := r.Registration(ctx)
		_, err = render.WriteListing(p.out, p.format, render.Listing[directory.User]{
			Header: registrationHeader,
			Rows: func() iter.Seq2[directory.User, error] {
				totals = report.RegistrationTotals{}
				return users
			},
			Cells: func(u directory.User) []string {
				totals.Add(u)
				return newRegistrationView(u).cells()
			},
			View: func(u directory.User) any { return newRegistrationView(u) },
		})
		if err != nil {
			return fmt.Errorf("reporting registration: %w", err)
		}
		if opts.format != cmdutil.FormatTable {
			return nil
		}
		t := totals
		_, err = fmt.Fprintf(p.out, "\nTotal: %s, %d without any method, %d must register, %d blocked; %s, %d tokens activated, %d pending, %s\n",
			plural(t.Users, "user"), t.NoMethod, t.MustRegister, t.Blocked, plural(t.Methods, "method"),
			t.TokensActivated, t.TokensPending, plural(t.AppPasswords, "app password"))
		return err
	})
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
