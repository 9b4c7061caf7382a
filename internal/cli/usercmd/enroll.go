package usercmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/users"
)

type enrollAppOptions struct {
	f      *cmdutil.Factory
	cmd    *cobra.Command
	upn    string
	enroll users.EnrollOptions
	qr     string // QR code PNG to write; empty: none
	format string
}

func newEnrollAppCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &enrollAppOptions{f: f}
	cmd := &cobra.Command{
		Use:   "enroll-app UPN",
		Short: "Register an authenticator app for a user and print its otpauth URI once",
		Long: `Register a software TOTP method (Microsoft or Google Authenticator, any RFC 6238 app) for the
user: mfactl generates a 20-byte secret (SHA1, 6 digits, 30 s), stores it encrypted under the
master key and prints the otpauth:// URI once on standard output. With --qr it also writes the
URI as a QR code PNG (mode 0600) for the user to scan. The URI and the QR code contain the
secret: hand them over on a channel you trust and delete the file once scanned.

The app counts toward the user's limit of 5 OATH methods (hardware tokens plus apps), works
with 'auth verify' and clears must_register. The issuer shown in the app defaults to the
UPN's domain.

-o json prints {"id", "upn", "name", "issuer", "uri", "created_at"}.`,
		Example: `  $ mfactl users enroll-app helga@contoso.com --name "Helga's phone" --qr helga.png
  $ mfactl users enroll-app helga@contoso.com --issuer "Contoso" -o json`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.upn, err = upnArg(args[0]); err != nil {
				return err
			}
			for flag, v := range map[string]string{"--name": opts.enroll.Name, "--issuer": opts.enroll.Issuer} {
				if err := users.CheckText(flag, v); err != nil {
					return &cmdutil.UsageError{Err: err}
				}
			}
			if strings.Contains(opts.enroll.Issuer, ":") {
				return cmdutil.Usagef("--issuer: contains a colon, which authenticator apps take for the end of the issuer")
			}
			if cmd.Flags().Changed("qr") && (opts.qr == "" || opts.qr == "-") {
				return cmdutil.Usagef("--qr: want a file name for the PNG (it is never written to standard output)")
			}
			opts.cmd = cmd
			return enrollAppRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.enroll.Name, "name", "", "what the app is on, shown to admins (default \""+users.DefaultAppName+"\")")
	fl.StringVar(&opts.enroll.Issuer, "issuer", "", "issuer shown in the user's app, without a colon (default: the UPN's domain)")
	fl.StringVar(&opts.qr, "qr", "", "also write the URI as a QR code PNG to `file` (mode 0600)")
	return cmd
}

// enrollView is the one-time result of enroll-app, with the URI that carries the secret.
type enrollView struct {
	ID        string  `json:"id"`
	UPN       string  `json:"upn"`
	Name      string  `json:"name"`
	Issuer    string  `json:"issuer"`
	URI       string  `json:"uri"`
	CreatedAt *string `json:"created_at"`
}

var enrollHeader = []string{"id", "upn", "name", "issuer", "uri", "created at"}

func enrollAppRun(ctx context.Context, opts *enrollAppOptions) error {
	f := opts.f
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	if opts.qr != "" {
		// Registration happens only once the QR code is written (to its temporary name).
		opts.enroll.AuditNote = "QR code written to " + opts.qr
	}
	e, err := users.PrepareEnrollment(ctx, db, opts.upn, opts.enroll)
	if err != nil {
		_ = db.RecordRefusal(ctx, opts.upn, err)
		return err
	}
	// Write the QR code to a temporary file first: when that fails, nothing is registered;
	// once the app is registered, a rename puts the file in place.
	var qr *cmdutil.PendingFile
	if opts.qr != "" {
		png, err := e.QRCodePNG()
		if err != nil {
			return err
		}
		if qr, err = cmdutil.WritePending(opts.qr, png, 0o600); err != nil {
			return fmt.Errorf("writing the QR code %s: %w", opts.qr, err)
		}
		defer qr.Discard()
	}
	app, err := e.Register(ctx, db)
	if err != nil {
		return err
	}
	var qrErr error
	if qr != nil {
		if qrErr = qr.Commit(); qrErr != nil {
			qrErr = fmt.Errorf("the app was registered but writing the QR code %s failed (use the URI): %w", opts.qr, qrErr)
			// The registration's row says the code was written (to its temporary name): say
			// that it did not reach its place.
			_ = db.RecordFailure(context.WithoutCancel(ctx), app.UPN, "QR code not written to "+opts.qr)
		}
	}
	out := enrollView{ID: app.ID, UPN: app.UPN, Name: app.Name, Issuer: app.Issuer, URI: e.URI(), CreatedAt: view.TimeJSON(app.CreatedAt)}
	human := opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY()
	row := []string{out.ID, out.UPN, out.Name, out.Issuer, out.URI, view.TimeCell(out.CreatedAt, human)}
	if err := render.Rows(f.IO.Out, opts.format, out, enrollHeader, [][]string{row}); err != nil {
		return err
	}
	if !f.Quiet {
		if qr != nil && qrErr == nil {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: wrote the QR code to %s; delete it once the user has scanned it\n", opts.qr)
		}
		fmt.Fprintln(f.IO.ErrOut, "mfactl: the URI holds the secret and is shown only this once")
	}
	return qrErr
}
