package tokencmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/cli/view"
)

type showOptions struct {
	f      *cmdutil.Factory
	format string
	serial string
}

func newShowCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &showOptions{f: f}
	cmd := &cobra.Command{
		Use:   "show SERIAL",
		Short: "Show one token",
		Long: `Show a token of the directory: the fields of "tokens list" plus the reason it was disabled,
the file it was imported from and when it last changed. The secret is never shown.`,
		Example: `  $ mfactl tokens show GALT2100400
  $ mfactl tokens show GALT2100400 -o json`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			opts.serial = args[0]
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
	t, err := db.GetToken(ctx, opts.serial)
	if err != nil {
		return fmt.Errorf("showing token: %w", err)
	}
	v := newTokenDetailView(t)
	human := opts.format == cmdutil.FormatTable && f.IO.IsStdoutTTY()
	header := append(view.TokenHeader[:len(view.TokenHeader):len(view.TokenHeader)], "disabled reason", "source file", "updated at")
	cells := append(v.Token.Cells(view.TimeCells(human)), v.DisabledReason, v.SourceFile, view.TimeCell(v.UpdatedAt, human))
	return render.Record(f.IO.Out, opts.format, v, header, cells)
}
