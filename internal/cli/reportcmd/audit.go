package reportcmd

import (
	"context"
	"fmt"
	"iter"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/report"
)

type auditOptions struct {
	f      *cmdutil.Factory
	format string
	query  report.AuditQuery
}

func newAuditCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &auditOptions{f: f}
	var win windowFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report the changes made by admin commands",
		Long: `List the audit trail in time order: one event per change made by an mfactl command, with
who made it (OS user and host), the command, its target, the result and a detail (never secret
material). Fields: time, actor, host, command, target, result, detail.

Filters combine: --since/--until, --user (the changes concerning a UPN: those whose target it
is, such as users block, and those whose detail names it, such as tokens assign; any letter
case) and --result (success or failure).

--since and --until take RFC 3339 dates or times (2026-11-01, 2026-11-01T08:00:00Z; a date is
midnight UTC) or an age before now (30d, 12h, 1w, 1d12h); --until is exclusive. Times are UTC.`,
		Example: `  $ mfactl report audit --since 7d
  $ mfactl report audit --since 2026-11-01 --until 2026-11-02 -o json
  $ mfactl report audit --user helga@contoso.com --result failure -o csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.query.Window, err = win.window(f); err != nil {
				return err
			}
			switch opts.query.Result {
			case "", report.AuditSuccess, report.AuditFailure:
			default:
				return cmdutil.Usagef("--result: %q is not success or failure", opts.query.Result)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	win.register(cmd)
	cmd.Flags().StringVar(&opts.query.User, "user", "", "only the changes concerning this `UPN` (its target, or named in its detail)")
	cmd.Flags().StringVar(&opts.query.Result, "result", "", "only changes with this `result`: success or failure")
	return cmd
}

// auditView is an audit event (SPEC section 10).
type auditView struct {
	Time    string `json:"time"`
	Actor   string `json:"actor"`
	Host    string `json:"host"`
	Command string `json:"command"`
	Target  string `json:"target"`
	Result  string `json:"result"`
	Detail  string `json:"detail"`
}

var auditColumns = []string{"time", "actor", "host", "command", "target", "result", "detail"}

func auditRun(ctx context.Context, opts *auditOptions) error {
	return runReport(ctx, opts.f, opts.format, func(r *report.Reporter, p *printer) (err error) {
		events, err := r.AuditTrail(ctx, opts.query)
		if err != nil {
			return usageError(err)
		}
		_, err = render.WriteListing(p.out, p.format, render.Listing[directory.AuditEvent]{
			Header: auditColumns,
			Rows:   func() iter.Seq2[directory.AuditEvent, error] { return events },
			Cells: func(e directory.AuditEvent) []string {
				return []string{p.time(e.Time), e.Actor, e.Host, e.Command, e.Target, e.Result, e.Detail}
			},
			View: func(e directory.AuditEvent) any {
				return auditView{Time: view.RFC3339(e.Time), Actor: e.Actor, Host: e.Host, Command: e.Command,
					Target: e.Target, Result: e.Result, Detail: e.Detail}
			},
		})
		if err != nil {
			return fmt.Errorf("reporting the audit trail: %w", err)
		}
		return nil
	})
}
