package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
)

type deleteOptions struct {
	f       *cmdutil.Factory
	serials []string
	yes     bool
	force   bool
}

func newDeleteCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &deleteOptions{f: f}
	cmd := &cobra.Command{
		Use:   "delete SERIAL...",
		Short: "Remove tokens from the directory",
		Long: `Delete tokens from the directory, with their encrypted secrets: all of them, or none when one
is not found. Their users lose them as a method at once.

On a terminal it asks for confirmation; otherwise --yes is required.

On Microsoft Entra ID (--db entra://TENANT) only unassigned tokens can be deleted: an assigned
one refuses the whole command unless --force, which unassigns it first. Graph has no
transactions there: a failure half-way names the tokens already deleted.`,
		Example: `  $ mfactl tokens delete GALT2100400
  $ mfactl tokens delete --yes GALT2100400 GALT2100401`,
		Args: cmdutil.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.serials = args
			return deleteRun(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "delete without asking for confirmation")
	cmd.Flags().BoolVar(&opts.force, "force", false, "on Microsoft Entra ID, unassign assigned tokens before deleting them (a local directory deletes them anyway)")
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
	db, err := f.WriteDirectory(ctx)
	if err != nil {
		return err
	}
	if forced, ok := db.(interface {
		DeleteTokensForce(ctx context.Context, serials ...string) error
	}); ok && opts.force {
		err = forced.DeleteTokensForce(ctx, opts.serials...)
	} else {
		err = db.DeleteTokens(ctx, opts.serials...)
	}
	switch {
	case err == nil:
	case !cmdutil.IsEntra(db) || errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrConflict):
		// All or nothing (on Entra ID, every token is checked before any is deleted): the
		// error names the token that was not found or is assigned.
		err = fmt.Errorf("deleting tokens: %w; nothing was deleted", err)
		if cmdutil.IsEntra(db) && errors.Is(err, directory.ErrConflict) {
			return cmdutil.WithHint(err, "unassign it first (mfactl tokens unassign), or pass --force to unassign and delete")
		}
		return err
	default:
		// Graph has no transactions: the error says what was deleted before it.
		return fmt.Errorf("deleting tokens: %w", err)
	}
	f.Note("deleted %s", what)
	return nil
}
