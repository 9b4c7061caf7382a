package reportcmd

import (
	"context"
	"fmt"
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/report"
	"github.com/mfactl/mfactl/internal/store"
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
these columns; the table ends with a totals line (users, without any method, must register,
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

// registrationView is one user of the registration report: the users listing of SPEC section 10
// plus the reason of a block.
type registrationView struct {
	UPN             string `json:"upn"`
	DisplayName     string `json:"display_name"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
	State           string `json:"state"`
	BlockedReason   string `json:"blocked_reason"`
	MustRegister    bool   `json:"must_register"`
	Methods         int    `json:"methods"`
	TokensActivated int    `json:"tokens_activated"`
	TokensPending   int    `json:"tokens_pending"`
	AppPasswords    int    `json:"app_passwords"`
}

var registrationColumns = []string{"upn", "display_name", "email", "phone", "state", "blocked_reason", "must_register",
	"methods", "tokens_activated", "tokens_pending", "app_passwords"}

func registrationRun(ctx context.Context, opts *registrationOptions) (err error) {
	db, err := opts.f.Store(ctx)
	if err != nil {
		return err
	}
	r := report.New(db, opts.f.Now)
	p := newPrinter(opts.f, opts.format)
	defer func() {
		if ferr := p.flush(); err == nil {
			err = ferr
		}
	}()
	// The totals are counted on the last pass over the users (a long table reads them twice).
	var totals report.RegistrationTotals
	users := r.Registration(ctx)
	_, err = render.WriteListing(p.out, p.format, render.Listing[store.User]{
		Header: registrationColumns,
		Rows: func() iter.Seq2[store.User, error] {
			totals = report.RegistrationTotals{}
			return users
		},
		Cells: func(u store.User) []string {
			totals.Add(u)
			return []string{u.UPN, u.DisplayName, u.Email, u.Phone, string(u.State), u.BlockedReason,
				strconv.FormatBool(u.MustRegister), strconv.Itoa(u.Methods), strconv.Itoa(u.TokensActivated),
				strconv.Itoa(u.TokensPending), strconv.Itoa(u.AppPasswords)}
		},
		View: func(u store.User) any {
			return registrationView{UPN: u.UPN, DisplayName: u.DisplayName, Email: u.Email, Phone: u.Phone,
				State: string(u.State), BlockedReason: u.BlockedReason, MustRegister: u.MustRegister, Methods: u.Methods,
				TokensActivated: u.TokensActivated, TokensPending: u.TokensPending, AppPasswords: u.AppPasswords}
		},
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
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
