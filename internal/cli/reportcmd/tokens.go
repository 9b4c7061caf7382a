package reportcmd

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/report"
)

type tokensOptions struct {
	f         *cmdutil.Factory
	format    string
	unusedFor time.Duration // 0: the inventory
}

func newTokensCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &tokensOptions{f: f}
	var unusedFor string
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Report the hardware-token inventory, or the tokens not used for a while",
		Long: `Count the hardware tokens per manufacturer and model by status. The available column is the
unassigned stock ready to hand out; unassigned counts every token without an owner (available
plus disabled stock). Fields: manufacturer, model, total, available, assigned, activated,
failed_activation, disabled, unassigned; the table ends with a TOTAL row.

With --unused-for AGE, list instead the tokens handed out to users that have been idle for at
least AGE (30d, 12w, ...): last used before then; activated before then and never used since;
or never activated and unchanged since then (assigned and left pending). The longest idle come
first. Fields: those of tokens list (serial_number, upn,
status, manufacturer, model, time_interval, hash, digits, drift, failed_attempts, created_at,
activated_at, last_used_at), and the CSV and table columns are named as in tokens list
("serial number", ...); never-set times are null in JSON and empty in CSV and tables.`,
		Example: `  $ mfactl report tokens
  $ mfactl report tokens -o json
  $ mfactl report tokens --unused-for 90d -o csv > unused.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if cmd.Flags().Changed("unused-for") {
				if opts.unusedFor, err = report.ParseAge(unusedFor); err != nil {
					return cmdutil.Usagef("--unused-for: %v", err)
				}
				if opts.unusedFor <= 0 {
					return cmdutil.Usagef("--unused-for: want a positive age like 90d")
				}
			}
			return tokensRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&unusedFor, "unused-for", "", "list the assigned tokens not used for at least `age` (90d, 12w, 36h)")
	return cmd
}

// inventoryView is one manufacturer and model of the token inventory.
type inventoryView struct {
	Manufacturer     string `json:"manufacturer"`
	Model            string `json:"model"`
	Total            int64  `json:"total"`
	Available        int64  `json:"available"`
	Assigned         int64  `json:"assigned"`
	Activated        int64  `json:"activated"`
	FailedActivation int64  `json:"failed_activation"`
	Disabled         int64  `json:"disabled"`
	Unassigned       int64  `json:"unassigned"`
}

var inventoryColumns = []string{"manufacturer", "model", "total", "available", "assigned", "activated",
	"failed_activation", "disabled", "unassigned"}

func tokensRun(ctx context.Context, opts *tokensOptions) error {
	open := func() (reportSource, error) { return opts.f.ReadDirectory(ctx) }
	return runReportOn(ctx, opts.f, opts.format, open, func(r *report.Reporter, p *printer) (err error) {
		if opts.unusedFor > 0 {
			if err := listUnused(ctx, r, p, opts.unusedFor); err != nil {
				return fmt.Errorf("reporting unused tokens: %w", usageError(err))
			}
			return nil
		}
		rows, total, err := r.Inventory(ctx)
		if err != nil {
			return fmt.Errorf("reporting the token inventory: %w", err)
		}
		views := make([]inventoryView, len(rows))
		cells := make([][]string, 0, len(rows)+1)
		for i, x := range rows {
			views[i] = inventoryView(x)
			cells = append(cells, inventoryCells(x))
		}
		if opts.format == cmdutil.FormatTable {
			total.Manufacturer = "TOTAL"
			return render.TableWithSuffixes(p.out, inventoryColumns, append(cells, inventoryCells(total)), nil)
		}
		return p.writeRows(inventoryColumns, cells, views)
	})
}

func inventoryCells(x directory.InventoryRow) []string {
	return []string{x.Manufacturer, x.Model, itoa(x.Total), itoa(x.Available), itoa(x.Assigned), itoa(x.Activated),
		itoa(x.FailedActivation), itoa(x.Disabled), itoa(x.Unassigned)}
}

func listUnused(ctx context.Context, r *report.Reporter, p *printer, unusedFor time.Duration) error {
	tokens, _, err := r.UnusedTokens(ctx, unusedFor)
	if err != nil {
		return err
	}
	_, err = render.WriteListing(p.out, p.format, render.Listing[directory.Token]{
		Header: view.TokenHeader,
		Rows:   func() iter.Seq2[directory.Token, error] { return tokens },
		Cells:  func(t directory.Token) []string { return view.NewToken(t).Cells(p.timeCell) },
		View:   func(t directory.Token) any { return view.NewToken(t) },
	})
	return err
}
