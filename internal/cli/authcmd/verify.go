package authcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/users"
)

type verifyOptions struct {
	f           *cmdutil.Factory
	format      string
	upn         string
	codeArg     string
	hasCode     bool
	appPassword bool
	clientIP    string
}

func newVerifyCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &verifyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "verify UPN [CODE]",
		Short: "Check a user's code or app password",
		Long: `Check a second factor the way a sign-in would, and record the attempt in the authentication
log (docs/auth-events.md lists the result codes).

A code is checked against every activated hardware token and authenticator app of the user,
within one time step of the drift learned for each. A code is accepted once: the same code again
is FAILED_OATH_CODE_DUPLICATE, an earlier one FAILED_OATH_CODE_OLD; these replays are recorded
but count no failure, so replaying a code someone saw cannot lock its user out. 10 wrong codes
in a row lock the user's OATH methods (FAILED_AUTHENTICATION_THROTTLED) until
'mfactl users unblock' or 'mfactl tokens enable'. Blocked and unknown users, and users without
an activated method, are denied.

The code is the CODE argument, "-" to read it from standard input, or asked for (hidden) when
standard input is a terminal. White space around it and spaces inside it ("123 456") are
ignored, and full-width digits read as digits; anything else that is not the digits of the
user's tokens (6) is a usage error (exit 2), not an attempt: it is not recorded and not counted.
--app-password checks an app password instead, read from one line of standard input (never
from the command line, where it would be seen by other users).

Exits 0 when verified and 1 when denied. -o json prints {"time", "upn", "device_token",
"mode", "result", "result_code", "reason"}.`,
		Example: `  $ mfactl auth verify adele.vance@contoso.com 123456
  $ mfactl auth verify adele.vance@contoso.com --client-ip 203.0.113.9 -o json -
  $ mfactl auth verify adele.vance@contoso.com --app-password < password.txt`,
		Args: cmdutil.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.clientIP, err = cmdutil.ParseClientIP(opts.clientIP); err != nil {
				return err
			}
			// The UPN is written to the auth log even when unknown: no control characters,
			// which would forge lines in its reports.
			opts.upn = users.Text(args[0])
			if opts.upn == "" {
				return cmdutil.Usagef("empty UPN")
			}
			if err := users.CheckText("UPN", opts.upn); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if len(args) == 2 {
				if opts.appPassword {
					return cmdutil.Usagef("--app-password reads the password from standard input; give no CODE")
				}
				opts.codeArg, opts.hasCode = args[1], true
			}
			return verifyRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.appPassword, "app-password", false, "check an app password read from standard input instead of a code")
	fl.StringVar(&opts.clientIP, "client-ip", "", "record this client `address` in the authentication log")
	return cmd
}

func verifyRun(ctx context.Context, opts *verifyOptions) error {
	f := opts.f
	// The directory first: no code is asked for when there is nothing to check it against.
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	var secret string
	if opts.appPassword {
		secret, err = f.ReadSecret("-", true, fmt.Sprintf("App password for %s: ", opts.upn), "app password")
	} else {
		secret, err = f.ReadCode(opts.codeArg, opts.hasCode, fmt.Sprintf("Code for %s: ", opts.upn))
	}
	if err != nil {
		return err
	}
	h := cmdutil.Host()
	svc := auth.New(db, f.Now, auth.Server{Name: h.Name, IP: h.IP})
	o := auth.Options{ClientIP: opts.clientIP}
	var r auth.Result
	if opts.appPassword {
		r, err = svc.VerifyAppPassword(ctx, opts.upn, secret, o)
	} else {
		r, err = svc.Verify(ctx, opts.upn, secret, o)
	}
	if err != nil {
		return cmdutil.CodeUsage(err)
	}
	if err := writeVerification(f, opts.format, r); err != nil {
		return err
	}
	if !r.Success {
		return cmdutil.ErrSilent
	}
	return nil
}

// verificationView is the outcome in -o json, the fields of its auth event that say what
// happened (the rest are in the log).
type verificationView struct {
	Time        string `json:"time"`
	UPN         string `json:"upn"`
	DeviceToken string `json:"device_token"`
	Mode        string `json:"mode"`
	Result      string `json:"result"`
	ResultCode  string `json:"result_code"`
	Reason      string `json:"reason"`
}

var verificationHeader = []string{"time", "upn", "device token", "mode", "result", "result code", "reason"}

func writeVerification(f *cmdutil.Factory, format string, r auth.Result) error {
	v := verificationView{
		Time: r.Time.UTC().Format(time.RFC3339), UPN: r.UPN, DeviceToken: r.DeviceToken, Mode: r.Mode,
		Result: r.ResultWord(), ResultCode: r.Code, Reason: r.Reason,
	}
	if format == cmdutil.FormatJSON {
		return render.JSON(f.IO.Out, v)
	}
	when := v.Time
	if format == cmdutil.FormatTable && f.IO.IsStdoutTTY() {
		when = r.Time.Local().Format("2006-01-02 15:04:05")
	}
	row := [][]string{{when, v.UPN, v.DeviceToken, v.Mode, v.Result, v.ResultCode, v.Reason}}
	if format == cmdutil.FormatCSV {
		return render.CSV(f.IO.Out, verificationHeader, row)
	}
	return render.Table(f.IO.Out, verificationHeader, row)
}
