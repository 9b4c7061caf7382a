package usercmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
)

type showOptions struct {
	f      *cmdutil.Factory
	format string
	upn    string
}

// userDetailView is what `users show` adds to the listing view: why the user is blocked,
// whether their OATH methods are locked, times, and their hardware tokens.
type userDetailView struct {
	view.User
	BlockedReason string          `json:"blocked_reason"`
	Locked        bool            `json:"locked"`
	CreatedAt     *string         `json:"created_at"`
	UpdatedAt     *string         `json:"updated_at"`
	Tokens        []userTokenView `json:"tokens"`
	AuthApps      []userAppView   `json:"authenticator_apps"`
}

type userAppView struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Issuer     string  `json:"issuer"`
	CreatedAt  *string `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

type userTokenView struct {
	SerialNumber string `json:"serial_number"`
	Status       string `json:"status"`
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
}

func newShowCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &showOptions{f: f}
	cmd := &cobra.Command{
		Use:   "show UPN",
		Short: "Show one user",
		Long: `Show a user: the fields of "users list", why they are blocked, whether their OATH methods are
locked after failed verifications, their hardware tokens with their status, and their
authenticator apps (id and name; -o json adds the issuer and when each was enrolled and last
used), so that every one of the "methods" is accounted for.`,
		Example: `  $ mfactl users show adele.vance@contoso.com
  $ mfactl users show adele.vance@contoso.com -o json`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			opts.upn = args[0]
			return showRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func showRun(ctx context.Context, opts *showOptions) error {
	f := opts.f
	db, err := f.ReadDirectory(ctx)
	if err != nil {
		return err
	}
	u, err := db.GetUser(ctx, opts.upn)
	if err != nil {
		return fmt.Errorf("showing user: %w", err)
	}
	toks, err := db.ListTokens(ctx, directory.TokenFilter{UPN: u.UPN})
	if err != nil {
		return fmt.Errorf("showing user %s: %w", u.UPN, err)
	}
	v := userDetailView{
		User:          view.NewUser(u),
		BlockedReason: u.BlockedReason,
		Locked:        u.Locked,
		CreatedAt:     view.TimeJSON(u.CreatedAt),
		UpdatedAt:     view.TimeJSON(u.UpdatedAt),
		Tokens:        make([]userTokenView, 0, len(toks)),
	}
	var tokenCells []string
	for _, t := range toks {
		v.Tokens = append(v.Tokens, userTokenView{SerialNumber: t.Serial, Status: string(t.Status), Manufacturer: t.Manufacturer, Model: t.Model})
		tokenCells = append(tokenCells, fmt.Sprintf("%s (%s)", t.Serial, t.Status))
	}
	apps, err := db.ListAuthApps(ctx, u.UPN)
	if err != nil {
		return fmt.Errorf("showing user %s: %w", u.UPN, err)
	}
	v.AuthApps = make([]userAppView, 0, len(apps))
	var appCells []string
	for _, a := range apps {
		v.AuthApps = append(v.AuthApps, userAppView{ID: a.ID, Name: a.Name, Issuer: a.Issuer,
			CreatedAt: view.TimeJSON(a.CreatedAt), LastUsedAt: view.TimeJSON(a.LastUsedAt)})
		appCells = append(appCells, fmt.Sprintf("%s (%s)", a.ID, a.Name))
	}
	human := opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY()
	header := append(view.UserHeader[:len(view.UserHeader):len(view.UserHeader)], "blocked reason", "locked", "created at", "updated at", "tokens", "authenticator apps")
	cells := append(v.User.Cells(), v.BlockedReason, strconv.FormatBool(v.Locked),
		view.TimeCell(v.CreatedAt, human), view.TimeCell(v.UpdatedAt, human), strings.Join(tokenCells, " "), strings.Join(appCells, " "))
	return render.Record(f.IO.Out, opts.format, v, header, cells)
}
