package usercmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/store"
)

// auditUserChange records the outcome of a change to one user. A refusal by the directory (not
// found, a conflict) is recorded as a failure; errors of the machinery are not, since
// recording would fail the same way. It returns the error to report: opErr, or the failure to
// record a change that was made.
func auditUserChange(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, target, detail string, opErr error) error {
	if opErr != nil {
		if errors.Is(opErr, store.ErrNotFound) || errors.Is(opErr, store.ErrConflict) {
			_ = f.Audit(context.WithoutCancel(ctx), cmd, target, "failure", opErr.Error())
		}
		return opErr
	}
	if err := f.Audit(context.WithoutCancel(ctx), cmd, target, "success", detail); err != nil {
		return fmt.Errorf("the change was made but recording it in the audit log failed: %w", err)
	}
	return nil
}

// userNote prints a confirmation on stderr (stdout is for data) unless --quiet.
func userNote(f *cmdutil.Factory, format string, args ...any) {
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
	}
}
