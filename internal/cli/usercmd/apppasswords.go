package usercmd

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
)

// newAppPasswordsCmd is the `users app-passwords` noun; its verbs are in
// apppasswords_{create,list,revoke}.go.
func newAppPasswordsCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app-passwords <command>",
		Short: "Create, list and revoke users' app passwords",
		Long: `App passwords let applications that cannot prompt for a second factor (old mail clients,
VPN clients) sign in. mfactl generates them (16 characters from crypto/rand), prints each one
once and stores only a slow hash (argon2id): nobody can read one back, not even an admin.

Resetting a user's MFA registration keeps their app passwords, as in Azure; revoke them
separately, for example when a phone is lost.`,
		Example: `  $ mfactl users app-passwords create helga@contoso.com --name "Outlook 2013"
  $ mfactl users app-passwords list helga@contoso.com
  $ mfactl users app-passwords revoke helga@contoso.com`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.ShowHelp,
	}
	cmd.AddCommand(
		newAppPasswordsCreateCmd(f),
		newAppPasswordsListCmd(f),
		newAppPasswordsRevokeCmd(f),
	)
	return cmd
}

// appPasswordView is an app password in listings: never the password, nor its hash.
type appPasswordView struct {
	ID        string  `json:"id"`
	UPN       string  `json:"upn"`
	Name      string  `json:"name"`
	CreatedAt *string `json:"created_at"`
}

var appPasswordHeader = []string{"id", "upn", "name", "created at"}

func newAppPasswordView(p directory.AppPassword) appPasswordView {
	return appPasswordView{ID: p.ID, UPN: p.UPN, Name: p.Name, CreatedAt: view.TimeJSON(p.CreatedAt)}
}

func (v appPasswordView) cells(human bool) []string {
	return []string{v.ID, v.UPN, v.Name, view.TimeCell(v.CreatedAt, human)}
}

// renderAppPasswords writes app passwords as a list in the format: [] in JSON when empty, the
// header alone in a table or CSV.
func renderAppPasswords(f *cmdutil.Factory, w io.Writer, format string, ps []directory.AppPassword) error {
	views := make([]appPasswordView, 0, len(ps))
	rows := make([][]string, 0, len(ps))
	human := format == cmdutil.FormatTable && f.IO.IsStdoutTTY()
	for _, p := range ps {
		v := newAppPasswordView(p)
		views = append(views, v)
		rows = append(rows, v.cells(human))
	}
	return render.Rows(w, format, views, appPasswordHeader, rows)
}
