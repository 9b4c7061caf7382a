package cmdutil

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// TestExplainErrorNoSpace: a full device is reported with the database file it holds, not as
// "disk I/O error (4874)", and exits 1.
func TestExplainErrorNoSpace(t *testing.T) {
	f := &Factory{dbPath: "/data/mfactl.db"}
	err := fmt.Errorf("adding user: %w", &store.NoSpaceError{Err: &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}})
	err = f.ExplainError(err)
	if want := "adding user: no space left on the device holding /data/mfactl.db"; err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	if ExitCode(err) != ExitFailure {
		t.Errorf("exit %d, want 1", ExitCode(err))
	}
}

// TestExitCodeBusy: a busy directory has its own exit code, also behind wrapping and hints.
func TestExitCodeBusy(t *testing.T) {
	err := WithHint(fmt.Errorf("importing: %w", &directory.BusyError{}), "h")
	if got := ExitCode(err); got != ExitBusy || ExitBusy != 4 {
		t.Errorf("exit %d, want 4", got)
	}
}
