package reportcmd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/report"
)

type driftOptions struct {
	f      *cmdutil.Factory
	format string
	query  report.DriftQuery
}

func newDriftCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &driftOptions{f: f}
	var since string
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Report the hardware tokens whose clock runs away, before they stop working",
		Long: `List the hardware tokens whose learned drift (how many time steps the token's clock is ahead or
behind) moved by --min-steps or more over the period (--since, default 90 days), with the drift
at the start and end of the period, the rate in steps per 30 days and an estimate of when the
token will fail.

Every successful verification learns where the token's clock is, and verification accepts a
code within --window steps (1, as verification does) of that. A token used every day keeps
working however fast its clock runs; the one that fails is the token left unused for a while
whose clock moved by more than the window since its last use. leaves_window is when that
happens at the token's rate, counted from its last use, and days_left the days from now until
then (negative: already past, so the next use will likely fail). Replace those tokens, or have
them used, first. The most urgent come first.

Fields: serial_number, upn, first_drift, last_drift, moved, steps_per_30d, last_used_at,
leaves_window, days_left, history (the drifts of the period in time order, separated by
spaces). On a terminal the table shows the history as a sparkline. The history is kept from the
first activation or verification made with this version of mfactl on.`,
		Example: `  $ mfactl report drift
  $ mfactl report drift --since 180d --min-steps 3
  $ mfactl report drift -o csv > drift.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if since != "" {
				if opts.query.Since, err = report.ParseTime(since, f.Now()); err != nil {
					return cmdutil.Usagef("--since: %v", err)
				}
			}
			if opts.query.MinSteps < 1 {
				return cmdutil.Usagef("--min-steps: want 1 or more, got %d", opts.query.MinSteps)
			}
			if opts.query.Window < 1 {
				return cmdutil.Usagef("--window: want 1 or more, got %d", opts.query.Window)
			}
			return driftRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&since, "since", "90d", "start of the period: RFC 3339 (2026-11-01) or an age (90d); empty: all history")
	cmd.Flags().IntVar(&opts.query.MinSteps, "min-steps", report.DefaultDriftMinSteps, "only tokens whose drift moved by at least `N` steps over the period")
	cmd.Flags().IntVar(&opts.query.Window, "window", report.DefaultDriftWindow, "verification window around the learned drift, in `steps`")
	return cmd
}

// driftView is one token of the drift report in JSON.
type driftView struct {
	SerialNumber string  `json:"serial_number"`
	UPN          string  `json:"upn"`
	FirstDrift   int     `json:"first_drift"`
	LastDrift    int     `json:"last_drift"`
	Moved        int     `json:"moved"`
	StepsPer30d  float64 `json:"steps_per_30d"`
	LastUsedAt   *string `json:"last_used_at"`
	LeavesWindow string  `json:"leaves_window"`
	DaysLeft     float64 `json:"days_left"`
	History      []int   `json:"history"`
}

var driftColumns = []string{"serial_number", "upn", "first_drift", "last_drift", "moved", "steps_per_30d",
	"last_used_at", "leaves_window", "days_left", "history"}

func driftRun(ctx context.Context, opts *driftOptions) error {
	return runReport(ctx, opts.f, opts.format, func(r *report.Reporter, p *printer) error {
		toks, err := r.Drift(ctx, opts.query)
		if err != nil {
			return fmt.Errorf("reporting drift: %w", usageError(err))
		}
		views := make([]driftView, len(toks))
		cells := make([][]string, len(toks))
		spark := p.tty && p.format == cmdutil.FormatTable
		for i, t := range toks {
			v := driftView{SerialNumber: t.Serial, UPN: t.UPN, FirstDrift: t.FirstDrift, LastDrift: t.LastDrift,
				Moved: t.Moved(), StepsPer30d: round1(t.StepsPer30Days), LastUsedAt: view.TimeJSON(t.LastUsed),
				LeavesWindow: view.RFC3339(t.LeavesWindow), DaysLeft: round1(t.DaysLeft), History: t.History}
			views[i] = v
			hist := historyText(t.History)
			if spark {
				hist = sparkline(t.History)
			}
			cells[i] = []string{v.SerialNumber, v.UPN, strconv.Itoa(v.FirstDrift), strconv.Itoa(v.LastDrift),
				strconv.Itoa(v.Moved), fmt1(v.StepsPer30d), p.time(t.LastUsed), p.time(t.LeavesWindow), fmt1(v.DaysLeft), hist}
		}
		return p.writeRows(driftColumns, cells, views)
	})
}

func round1(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return v
}

func fmt1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func historyText(h []int) string {
	b := make([]byte, 0, 4*len(h))
	for i, d := range h {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(b)
}

// sparkBlocks draw a sparkline, lowest to highest.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// maxSpark is the most points a sparkline shows (the latest ones): a table cell stays short.
const maxSpark = 24

// sparkline draws the drifts as block characters scaled between their minimum and maximum.
func sparkline(h []int) string {
	if len(h) > maxSpark {
		h = h[len(h)-maxSpark:]
	}
	lo, hi := h[0], h[0]
	for _, d := range h {
		lo, hi = min(lo, d), max(hi, d)
	}
	out := make([]rune, len(h))
	for i, d := range h {
		idx := 0
		if hi > lo {
			idx = (d - lo) * (len(sparkBlocks) - 1) / (hi - lo)
		}
		out[i] = sparkBlocks[idx]
	}
	return string(out)
}
