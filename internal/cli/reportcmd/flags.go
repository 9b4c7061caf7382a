package reportcmd

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/report"
)

// windowFlags are --since and --until, shared by the reports over events.
type windowFlags struct {
	since, until string
}

func (w *windowFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&w.since, "since", "", "only events at or after `time`: RFC 3339 (2026-11-01, 2026-11-01T08:00:00Z) or an age (30d, 12h)")
	cmd.Flags().StringVar(&w.until, "until", "", "only events before `time` (exclusive), in the same forms as --since")
}

// window parses the flags against the factory's clock; a bad value is a usage error.
func (w *windowFlags) window(f *cmdutil.Factory) (report.Window, error) {
	win, err := report.ParseWindow(w.since, w.until, f.Now())
	return win, usageError(err)
}

// usageError turns the domain's parameter errors into usage errors (exit 2).
func usageError(err error) error {
	if errors.Is(err, report.ErrInvalid) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}
