package tokencmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

type unassignOptions struct {
	f      *cmdutil.Factory
	serial string
}

func newUnassignCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &unassignOptions{f: f}
	cmd := &cobra.Command{
		Use:   "unassign SERIAL",
		Short: "Take a token back from its user",
		Long: `Return a token to stock: it no longer belongs to anyone, its activation is cleared and its
status becomes available (a disabled token stays disabled). A token without owner is left alone.`,
		Example: `  $ mfactl tokens unassign GALT2100400`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.serial, err = textArg("serial number", args[0], false); err != nil {
				return err
			}
			return unassignRun(cmd.Context(), cmd, opts)
		},
	}
	return cmd
}

func unassignRun(ctx context.Context, cmd *cobra.Command, opts *unassignOptions) error {
	f := opts.f
	db, err := f.WriteDirectory(ctx)
	if err != nil {
		return err
	}
	previous, err := db.UnassignToken(ctx, opts.serial)
	if err == nil && previous == "" {
		f.Note("token %s is not assigned", opts.serial)
		return nil
	}
	if err != nil {
		return fmt.Errorf("unassigning token %s: %w", opts.serial, err)
	}
	f.Note("unassigned token %s from %s", opts.serial, previous)
	return nil
}
