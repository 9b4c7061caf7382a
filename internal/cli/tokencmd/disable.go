package tokencmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
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
"tokens enable". It keeps its owner. The reason is shown by "tokens show"; disabling a
disabled token again keeps its reason unless --reason gives a new one.`,
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
	db, err := f.ExistingStore(ctx)
	if err != nil {
		return err
	}
	// Disabling a disabled token keeps its reason (a lock after failed activations, "reported
	// lost") unless --reason gives another: the default text must not overwrite it.
	t, err := db.GetToken(ctx, opts.serial)
	if err == nil && t.Status == directory.StatusDisabled &&
		(!cmd.Flags().Changed("reason") || opts.reason == t.DisabledReason) {
		f.Note("token %s is already disabled (reason: %s)", t.Serial, t.DisabledReason)
		return nil
	}
	if err == nil {
		err = db.DisableToken(ctx, opts.serial, opts.reason)
	}
	if err != nil {
		_ = db.RecordRefusal(ctx, opts.serial, err)
		return fmt.Errorf("disabling token %s: %w", opts.serial, err)
	}
	f.Note("disabled token %s", opts.serial)
	return nil
}
