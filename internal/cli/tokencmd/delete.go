package tokencmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

type deleteOptions struct {
	f       *cmdutil.Factory
	serials []string
	yes     bool
}

func newDeleteCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &deleteOptions{f: f}
	cmd := &cobra.Command{
		Use:   "delete SERIAL...",
		Short: "Remove tokens from the directory",
		Long: `Delete tokens from the directory, with their encrypted secrets: all of them, or none when one
is not found. Their users lose them as a method at once.

On a terminal it asks for confirmation; otherwise --yes is required.`,
		Example: `  $ mfactl tokens delete GALT2100400
  $ mfactl tokens delete --yes GALT2100400 GALT2100401`,
		Args: cmdutil.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.serials = args
			return deleteRun(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "delete without asking for confirmation")
	return cmd
}

func deleteRun(ctx context.Context, cmd *cobra.Command, opts *deleteOptions) error {
	f := opts.f
	what := fmt.Sprintf("token %s", opts.serials[0])
	question := fmt.Sprintf("Delete %s and its secret from the directory?", what)
	if len(opts.serials) > 1 {
		what = fmt.Sprintf("%d tokens (%s)", len(opts.serials), strings.Join(opts.serials, ", "))
		question = fmt.Sprintf("Delete %s and their secrets from the directory?", what)
	}
	ok, err := f.Confirm(question, opts.yes, "delete tokens")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("deleting %s: not confirmed; nothing was deleted", what)
	}
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	if err := db.DeleteTokens(ctx, opts.serials...); err != nil {
		// All or nothing: the error names the token that was not found.
		return fmt.Errorf("deleting tokens: %w; nothing was deleted", err)
	}
	f.Note("deleted %s", what)
	return nil
}
