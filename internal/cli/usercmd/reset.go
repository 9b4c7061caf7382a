package usercmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/progress"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/users"
)

type resetOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upns   []string
	from   string
	dryRun bool
	yes    bool
	keep   bool
	format string
}

// sessionKeeper is a directory whose reset also revokes the users' sign-in sessions, unless
// told to keep them (Microsoft Entra ID).
type sessionKeeper interface {
	ResetRegistrationsKeeping(ctx context.Context, upns []string, dryRun, keepSessions bool) ([]directory.RegistrationReset, error)
}

// keepingSessions makes a sessionKeeper's ResetRegistrations keep the sessions.
type keepingSessions struct {
	directory.Directory
	k sessionKeeper
}

func (k keepingSessions) ResetRegistrations(ctx context.Context, upns []string, dryRun bool) ([]directory.RegistrationReset, error) {
	return k.k.ResetRegistrationsKeeping(ctx, upns, dryRun, true)
}

func newResetCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &resetOptions{f: f}
	cmd := &cobra.Command{
		Use:   "reset UPN...",
		Short: "Require users to register their MFA methods again",
		Long: `Require users to register their MFA methods again, as Azure's "Require re-register MFA":
their hardware tokens are deactivated and unassigned (back to available stock; a disabled token
stays disabled), their authenticator-app registrations are removed and must_register is set.
App passwords are kept (revoke them with 'users app-passwords revoke'); a blocked user stays
blocked and a lockout stays until 'users unblock'.

Users come from the arguments and from --from FILE, a CSV file with a header row naming a upn
column ("-" reads standard input). All users are reset in one transaction: when one is not in
the directory nothing changes. --dry-run shows what would change. On a terminal mfactl asks for
confirmation; otherwise pass --yes.

On Microsoft Entra ID (--db entra://TENANT) it does what the portal's "Require re-register MFA"
does: hardware OATH tokens are deactivated and stay assigned (status assigned, the user activates
them again), the software OATH, Microsoft Authenticator, phone and email methods are deleted, the
default method last, and the users' sign-in sessions are revoked (--keep-sessions keeps them).
The password, FIDO2 keys and Windows Hello stay. Graph has no transactions: every user is read
before anything is sent, but a failure half-way leaves the users before it reset. --dry-run and
-o json list the methods that go ("methods").

-o json prints {"dry_run": bool, "users": [{"upn", "tokens": [{"serial_number", "status",
"new_status"}], "authenticator_apps": [{"id", "name"}], "app_passwords_kept", "must_register"}]}.`,
		Example: `  $ mfactl users reset helga@contoso.com
  $ mfactl users reset --dry-run helga@contoso.com pat@contoso.com
  $ mfactl users reset --from leavers.csv --yes -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.from == "" {
				return cmdutil.Usagef("give the users to reset as arguments or with --from FILE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			for _, a := range args {
				upn, err := upnArg(a)
				if err != nil {
					return err
				}
				opts.upns = append(opts.upns, upn)
			}
			if !opts.dryRun && !opts.yes {
				if opts.from == "-" {
					return cmdutil.Usagef("--from - reads the users from standard input, so mfactl cannot ask for confirmation: pass --yes")
				}
				if err := f.CanConfirm(opts.yes, "reset MFA registrations"); err != nil {
					return err
				}
			}
			opts.cmd = cmd
			return resetRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.from, "from", "", "read users from the upn column of CSV `file` (\"-\": standard input)")
	fl.BoolVar(&opts.dryRun, "dry-run", false, "show what would change and change nothing")
	fl.BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation (needed when stdin is not a terminal)")
	fl.BoolVar(&opts.keep, "keep-sessions", false, "on Microsoft Entra ID, do not revoke the users' sign-in sessions (no effect elsewhere)")
	return cmd
}

// resetUserView is one user's reset in the JSON output.
type resetUserView struct {
	UPN               string             `json:"upn"`
	Tokens            []resetTokenView   `json:"tokens"`
	AuthenticatorApps []resetAuthAppView `json:"authenticator_apps"`
	AppPasswordsKept  int                `json:"app_passwords_kept"`
	MustRegister      bool               `json:"must_register"`
	// Methods are the other methods removed, only on Microsoft Entra ID.
	Methods []string `json:"methods,omitempty"`
}

type resetTokenView struct {
	SerialNumber string `json:"serial_number"`
	Status       string `json:"status"`     // before the reset
	NewStatus    string `json:"new_status"` // available, or disabled for a disabled token
}

type resetAuthAppView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type resetView struct {
	DryRun bool            `json:"dry_run"`
	Users  []resetUserView `json:"users"`
}

// resetHeader names the table and CSV columns: one row per user, lists space-separated. The
// upn column comes first, so the CSV output can be fed back to --from.
var resetHeader = []string{"upn", "tokens", "authenticator apps", "app passwords kept", "must register"}

func newResetUserView(r directory.RegistrationReset) resetUserView {
	v := resetUserView{UPN: r.UPN, Tokens: []resetTokenView{}, AuthenticatorApps: []resetAuthAppView{},
		AppPasswordsKept: r.AppPasswordsKept, MustRegister: true, Methods: r.Methods}
	for _, t := range r.Tokens {
		v.Tokens = append(v.Tokens, resetTokenView{SerialNumber: t.Serial, Status: string(t.Status), NewStatus: string(t.NewStatus)})
	}
	for _, a := range r.AuthApps {
		v.AuthenticatorApps = append(v.AuthenticatorApps, resetAuthAppView{ID: a.ID, Name: a.Name})
	}
	return v
}

func (v resetUserView) cells() []string {
	serials := make([]string, len(v.Tokens))
	for i, t := range v.Tokens {
		serials[i] = t.SerialNumber
	}
	apps := make([]string, len(v.AuthenticatorApps))
	for i, a := range v.AuthenticatorApps {
		apps[i] = a.ID
	}
	return []string{v.UPN, strings.Join(serials, " "), strings.Join(apps, " "), strconv.Itoa(v.AppPasswordsKept), strconv.FormatBool(v.MustRegister)}
}

// detail is the audit detail of one user's reset: what was taken away, never secrets.
func resetRun(ctx context.Context, opts *resetOptions) error {
	f := opts.f
	upns := opts.upns
	if opts.from != "" {
		fromFile, err := readUPNFile(f, opts.from)
		if err != nil {
			return err
		}
		upns = append(upns, fromFile...)
	}
	upns = users.Dedupe(upns)
	if len(upns) == 0 {
		return fmt.Errorf("%s lists no users", opts.from)
	}
	db, err := f.UsersDirectory(ctx)
	if err != nil {
		return err
	}
	if k, ok := db.(sessionKeeper); ok && opts.keep {
		db = keepingSessions{Directory: db, k: k}
	}
	if !opts.dryRun && !opts.yes {
		// Check every user exists before asking, so the answer is not wasted on a typo.
		pctx, done := resetProgress(ctx, f)
		_, err := users.Reset(pctx, db, upns, true)
		done()
		if err != nil {
			return err
		}
		whom := fmt.Sprintf("%d users", len(upns))
		if len(upns) == 1 {
			whom = "user " + upns[0]
		}
		ok, err := confirm(f, fmt.Sprintf("Reset MFA registration of %s?", whom))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(f.IO.ErrOut, "mfactl: reset cancelled; nothing was changed")
			return cmdutil.ErrSilent
		}
	}
	pctx, done := resetProgress(ctx, f)
	res, err := users.Reset(pctx, db, upns, opts.dryRun)
	done()
	if err != nil {
		if !opts.dryRun {
			_ = db.RecordRefusal(ctx, targetList(upns), err)
		}
		return err
	}
	view := resetView{DryRun: opts.dryRun, Users: make([]resetUserView, 0, len(res))}
	rows := make([][]string, 0, len(res))
	for _, r := range res {
		v := newResetUserView(r)
		view.Users = append(view.Users, v)
		rows = append(rows, v.cells())
	}
	if err := render.Rows(f.IO.Out, opts.format, view, resetHeader, rows); err != nil {
		return err
	}
	if opts.format != cmdutil.FormatJSON && !f.Quiet {
		verb := "deleted"
		if opts.dryRun {
			verb = "would delete"
		}
		for _, r := range res {
			for _, m := range r.Methods {
				fmt.Fprintf(f.IO.ErrOut, "mfactl: %s: %s %s\n", r.UPN, verb, m)
			}
		}
	}
	if opts.dryRun {
		if !f.Quiet {
			fmt.Fprintln(f.IO.ErrOut, "mfactl: dry run: nothing was changed")
		}
		return nil
	}
	return nil
}

// resetProgressDelay is how long a reset runs before its progress bar appears; a variable so
// that tests can show it at once.
var resetProgressDelay = progress.DefaultDelay

// resetUnits say what a step of each phase of a reset is, in the progress bar.
var resetUnits = map[string]string{directory.WorkReading: "users read", directory.WorkResetting: "users reset"}

// resetProgress returns a context in which a directory that reports its work (Entra ID, where
// each user is several Graph requests) moves a progress bar (a terminal, not quiet, after the
// delay). Call done when the reset returns: it removes the bar, so that the output and any
// question that follow start on a clean line.
func resetProgress(ctx context.Context, f *cmdutil.Factory) (_ context.Context, done func()) {
	bar := progress.New(f, resetProgressDelay)
	return directory.WithWork(ctx, func(w directory.Work) {
		bar.Count("resetting", w.Done, w.Total, resetUnits[w.Phase])
	}), bar.Done
}

// readUPNFile reads the upn column of a CSV file, or of standard input for "-".
func readUPNFile(f *cmdutil.Factory, name string) ([]string, error) {
	if name == "-" {
		upns, err := users.ReadUPNs(f.IO.In, "<stdin>")
		return upns, cmdutil.CSVSeparatorHint(err, "")
	}
	file, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	defer file.Close()
	upns, err := users.ReadUPNs(file, name)
	return upns, cmdutil.CSVSeparatorHint(err, "")
}

// confirm asks question on stderr and reads the answer from stdin, which the caller has made
// sure is a terminal. Only y or yes (any case) is a yes; anything else, or end of input, is no.
func confirm(f *cmdutil.Factory, question string) (bool, error) {
	fmt.Fprintf(f.IO.ErrOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	if err != nil && line == "" {
		fmt.Fprintln(f.IO.ErrOut)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// Helpers shared by the registration verbs (reset, block, unblock, app-passwords, enroll-app).

// upnArg checks a UPN given as an argument: not empty, no control or invisible characters; it
// comes back in NFC, the form the directory stores.
func upnArg(s string) (string, error) {
	upn := users.Text(s)
	if upn == "" {
		return "", cmdutil.Usagef("empty UPN")
	}
	if err := users.CheckText("UPN", upn); err != nil {
		return "", &cmdutil.UsageError{Err: err}
	}
	return upn, nil
}

// targetList names the users of a bulk change in one audit target, bounded in length.
func targetList(upns []string) string {
	const show = 10
	if len(upns) <= show {
		return strings.Join(upns, ",")
	}
	return strings.Join(upns[:show], ",") + fmt.Sprintf(",... (%d users)", len(upns))
}
