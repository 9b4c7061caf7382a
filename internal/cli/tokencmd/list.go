package tokencmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
	"github.com/mfactl/mfactl/internal/directory"
)

type listOptions struct {
	f      *cmdutil.Factory
	format string
	filter directory.TokenFilter
}

// tokenStatuses are the token tokenStatuses --status accepts.
var tokenStatuses = []string{
	string(directory.StatusAvailable), string(directory.StatusAssigned), string(directory.StatusActivated),
	string(directory.StatusFailedActivation), string(directory.StatusDisabled),
}

func newListCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &listOptions{f: f}
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokens in the directory",
		Long: `List the hardware tokens in the directory, ordered by serial number, optionally filtered by
user, status, manufacturer or model (compared ignoring case).

-o json prints an array of objects (serial_number, upn, status, manufacturer, model,
time_interval, hash, digits, drift, failed_attempts, created_at, activated_at, last_used_at;
times in RFC 3339 UTC, null for never). -o csv prints the same columns; those the importer reads
(upn, serial number, time interval, manufacturer, model) carry its column names. Secrets are
never listed, so a listing is an inventory, not a seed file: to import it elsewhere, add the
"secret key" column from the vendor's file.`,
		Example: `  $ mfactl tokens list
  $ mfactl tokens list --status available --manufacturer Gemalto
  $ mfactl tokens list --user adele.vance@contoso.com -o json
  $ mfactl tokens list -o csv > inventory.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			if status != "" {
				s := strings.ToLower(status)
				if !slices.Contains(tokenStatuses, s) {
					return cmdutil.Usagef("--status: unknown status %q (want %s)", status, strings.Join(tokenStatuses, ", "))
				}
				opts.filter.Status = directory.TokenStatus(s)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.filter.UPN, "user", "", "only the tokens of this user (`UPN`)")
	fl.StringVar(&status, "status", "", "only tokens in this `status`: "+strings.Join(tokenStatuses, ", "))
	fl.StringVar(&opts.filter.Manufacturer, "manufacturer", "", "only tokens of this `manufacturer`")
	fl.StringVar(&opts.filter.Model, "model", "", "only tokens of this `model`")
	return cmd
}

func listRun(ctx context.Context, opts *listOptions) error {
	f := opts.f
	db, err := f.ReadDirectory(ctx)
	if err != nil {
		return err
	}
	timeCell := view.TimeCells(opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY())
	lw := render.NewStream(f.IO.Out, opts.format, view.TokenHeader)
	for t, err := range db.Tokens(ctx, opts.filter) {
		if err != nil {
			return fmt.Errorf("listing tokens: %w", err)
		}
		v := view.NewToken(t)
		if err := lw.Add(v, v.Cells(timeCell)); err != nil {
			return err
		}
	}
	return lw.Close()
}
