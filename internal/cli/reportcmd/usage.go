package reportcmd

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra"
	"github.com/mfactl/mfactl/internal/report"
)

type usageOptions struct {
	f      *cmdutil.Factory
	format string
	query  report.UsageQuery
	by     report.GroupBy // empty: list the events
}

func newUsageCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &usageOptions{f: f}
	var win windowFlags
	var by string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Report authentication events, listed or counted per day, user, method or result",
		Long: `List the auth events (every verification and activation attempt), or count them with --by:
per UTC day, per user, per method (authentication mode) or per result code. Filters combine:
--since/--until, --user, --result, --mode.

Listed events have the fields time, upn, first_name, last_name, email, phone, device_token, mode,
result, result_code, reason, server_name, server_ip, client_ip. Grouped rows have the fields
group, success, denied, total (total counts every event of the group). Days come in calendar
order, other groups by total, largest first.

Denial reasons: the table output ends with a second section counting the denied events per
result code. JSON and CSV hold one list each; there the denial reasons are the rows of
--by result with a non-zero denied count (add --result denied for those alone).
On a terminal, --by day draws a bar per day: successes, then denials.

--since and --until take RFC 3339 dates or times (2026-11-01, 2026-11-01T08:00:00Z; a date is
midnight UTC) or an age before now (30d, 12h, 1w, 1d12h); --until is exclusive. Times are UTC.`,
		Example: `  $ mfactl report usage --since 24h
  $ mfactl report usage --since 30d --by day
  $ mfactl report usage --since 2026-11-01 --until 2026-12-01 --by user -o csv
  $ mfactl report usage --by result --result denied -o json
  $ mfactl report usage --user helga@contoso.com --mode oath-hardware`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if opts.query.Window, err = win.window(f); err != nil {
				return err
			}
			if win.since == "" && onEntra(f) {
				// Entra ID's sign-in log is Microsoft's and large: a bounded window by default.
				opts.query.Since = f.Now().Add(-entra.DefaultUsageWindow).UTC()
			}
			if by != "" {
				opts.by = report.GroupBy(by)
				if !slices.Contains(report.GroupBys, opts.by) {
					return cmdutil.Usagef("--by: %q is not day, user, method or result", by)
				}
			}
			switch opts.query.Result {
			case "", report.ResultSuccess, report.ResultDenied:
			default:
				return cmdutil.Usagef("--result: %q is not success or denied", opts.query.Result)
			}
			return usageRun(cmd.Context(), opts)
		},
	}
	win.register(cmd)
	cmd.Flags().StringVar(&by, "by", "", "count per `dimension`: day, user, method or result (result code)")
	cmd.Flags().StringVar(&opts.query.User, "user", "", "only the events of this `UPN`")
	cmd.Flags().StringVar(&opts.query.Result, "result", "", "only events with this `result`: success or denied")
	cmd.Flags().StringVar(&opts.query.Mode, "mode", "", "only events with this authentication `mode` (oath-hardware, app-password, ...)")
	return cmd
}

// eventView is the JSON of an auth event: the fields of docs/auth-events.md, in that order.
type eventView struct {
	Time        string `json:"time"`
	UPN         string `json:"upn"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	DeviceToken string `json:"device_token"`
	Mode        string `json:"mode"`
	Result      string `json:"result"`
	ResultCode  string `json:"result_code"`
	Reason      string `json:"reason"`
	ServerName  string `json:"server_name"`
	ServerIP    string `json:"server_ip"`
	ClientIP    string `json:"client_ip"`
}

var eventColumns = []string{"time", "upn", "first_name", "last_name", "email", "phone", "device_token", "mode",
	"result", "result_code", "reason", "server_name", "server_ip", "client_ip"}

// groupView is one row of the grouped usage report: {"group", "success", "denied", "total"}.
type groupView struct {
	Group   string `json:"group"`
	Success int64  `json:"success"`
	Denied  int64  `json:"denied"`
	Total   int64  `json:"total"`
}

var groupColumns = []string{"group", "success", "denied", "total"}

func usageRun(ctx context.Context, opts *usageOptions) error {
	return runReportAnywhere(ctx, opts.f, opts.format, func(r *report.Reporter, p *printer) (err error) {
		if opts.by == "" {
			err = listEvents(ctx, r, p, opts.query)
		} else {
			err = writeGroups(ctx, r, p, opts)
		}
		if err != nil {
			return fmt.Errorf("reporting usage: %w", usageError(err))
		}
		// The denial reasons, for people reading a table; --by result already shows them.
		if opts.format == cmdutil.FormatTable && opts.by != report.ByResult {
			return writeReasons(ctx, r, p, opts.query)
		}
		return nil
	})
}

func listEvents(ctx context.Context, r *report.Reporter, p *printer, q report.UsageQuery) error {
	events, err := r.Events(ctx, q)
	if err != nil {
		return err
	}
	_, err = render.WriteListing(p.out, p.format, render.Listing[directory.AuthEvent]{
		Header: eventColumns,
		Rows:   func() iter.Seq2[directory.AuthEvent, error] { return events },
		Cells: func(e directory.AuthEvent) []string {
			return []string{p.time(e.Time), e.UPN, e.FirstName, e.LastName, e.Email, e.Phone, e.DeviceToken, e.Mode,
				e.Result, e.ResultCode, e.Reason, e.ServerName, e.ServerIP, e.ClientIP}
		},
		View: func(e directory.AuthEvent) any {
			return eventView{Time: view.RFC3339(e.Time), UPN: e.UPN, FirstName: e.FirstName, LastName: e.LastName,
				Email: e.Email, Phone: e.Phone, DeviceToken: e.DeviceToken, Mode: e.Mode, Result: e.Result,
				ResultCode: e.ResultCode, Reason: e.Reason, ServerName: e.ServerName, ServerIP: e.ServerIP, ClientIP: e.ClientIP}
		},
	})
	return err
}

func writeGroups(ctx context.Context, r *report.Reporter, p *printer, opts *usageOptions) error {
	groups, err := r.Groups(ctx, opts.query, opts.by)
	if err != nil {
		return err
	}
	// The table has the columns of CSV and JSON, "group" included, whatever --by is: a script
	// that reads one format finds the same names in the others.
	columns := groupColumns
	cells := func(g report.Group) []string {
		return []string{g.Group, itoa(g.Success), itoa(g.Denied), itoa(g.Total)}
	}
	if opts.by == report.ByDay && p.tty && p.format == cmdutil.FormatTable {
		// The bars are scaled to the busiest day, so the days (a few hundred a year) are read
		// first.
		var days []report.Group
		var rows [][]string
		for g, err := range groups {
			if err != nil {
				return err
			}
			days = append(days, g)
			rows = append(rows, cells(g))
		}
		return render.TableWithSuffixes(p.out, columns, rows, dayBars(days, p.color))
	}
	// Other groupings stream: there is one group per user for --by user.
	_, err = render.WriteListing(p.out, p.format, render.Listing[report.Group]{
		Header: columns,
		Rows:   func() iter.Seq2[report.Group, error] { return groups },
		Cells:  cells,
		View:   func(g report.Group) any { return groupView(g) },
	})
	return err
}

// barWidth is the length of the longest bar of --by day on a terminal.
const barWidth = 40

// dayBars draws one bar per day, scaled to the busiest day: successes then denials, in green
// and red when colour is on, else as full and light blocks. A non-zero count gets at least one
// block, so a day with a few denials among thousands of successes still shows them.
func dayBars(groups []report.Group, color bool) []string {
	var most int64
	for _, g := range groups {
		most = max(most, g.Success+g.Denied)
	}
	scale := func(n int64) int {
		if n == 0 || most == 0 {
			return 0
		}
		return max(1, int((n*barWidth+most/2)/most))
	}
	bars := make([]string, len(groups))
	for i, g := range groups {
		ok, denied := strings.Repeat("█", scale(g.Success)), strings.Repeat("░", scale(g.Denied))
		if color {
			if ok != "" {
				ok = "\x1b[32m" + ok + "\x1b[0m"
			}
			if denied != "" {
				denied = "\x1b[31m" + strings.Repeat("█", scale(g.Denied)) + "\x1b[0m"
			}
		}
		bars[i] = ok + denied
	}
	return bars
}

// writeReasons adds the denial reasons to a table: a blank line, then the denied events per
// result code. Nothing when there were no denials.
func writeReasons(ctx context.Context, r *report.Reporter, p *printer, q report.UsageQuery) error {
	reasons, err := r.DenialReasons(ctx, q)
	if err != nil {
		return fmt.Errorf("counting denial reasons: %w", err)
	}
	if len(reasons) == 0 {
		return nil
	}
	rows := make([][]string, len(reasons))
	for i, x := range reasons {
		rows[i] = []string{x.ResultCode, itoa(x.Count)}
	}
	if err := p.out.WriteByte('\n'); err != nil {
		return err
	}
	return render.TableWithSuffixes(p.out, []string{"denial_reason", "denied"}, rows, nil)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
