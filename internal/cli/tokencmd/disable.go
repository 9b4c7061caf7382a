package tokencmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

type disableOptions struct {
	f      *cmdutil.Factory
	serial string
	reason string
}

func newDisableCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &disableOptions{f: f}
	cmd := &cobra.Command{
		Use:   "disable SERIAL",
		Short: "Stop a token from being used",
		Long: `Disable a token (lost, stolen, broken): it can be neither activated nor used to verify until
"tokens enable". It keeps its owner. The reason is shown by "tokens show".`,
		Example: `  $ mfactl tokens disable GALT2100400 --reason "reported lost"`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.serial, err = textArg("serial number", args[0], false); err != nil {
				return err
			}
			if opts.reason, err = textArg("--reason", opts.reason, true); err != nil {
				return err
			}
			return disableRun(cmd.Context(), cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.reason, "reason", "disabled by an administrator", "why the token is disabled (`text`)")
	return cmd
}

func disableRun(ctx context.Context, cmd *cobra.Command, opts *disableOptions) error {
	f := opts.f
	db, err := f.Store(ctx)
	if err != nil {
		return err
	}
	err = db.DisableToken(ctx, opts.serial, opts.reason)
	if err := f.AuditChange(ctx, cmd, opts.serial, "reason: "+opts.reason, err); err != nil {
		return fmt.Errorf("disabling token %s: %w", opts.serial, err)
	}
	f.Note("disabled token %s", opts.serial)
	return nil
}
