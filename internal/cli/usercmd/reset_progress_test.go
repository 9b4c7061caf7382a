package usercmd

import (
	"context"
	"strings"
	"testing"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/iostreams"
)

// TestResetProgressBar: the work a directory reports through the context moves a bar on a
// terminal, and none elsewhere.
func TestResetProgressBar(t *testing.T) {
	old := resetProgressDelay
	resetProgressDelay = 0
	t.Cleanup(func() { resetProgressDelay = old })
	for _, tty := range []bool{true, false} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetTTY(false, false, tty)
		f := cmdutil.NewFactory(ios, func(string) string { return "" })
		ctx, done := resetProgress(context.Background(), f)
		report := directory.WorkFunc(ctx)
		report(directory.Work{Phase: directory.WorkResetting, Done: 0, Total: 40})
		report(directory.Work{Phase: directory.WorkResetting, Done: 12, Total: 40})
		done()
		if got := strings.Contains(errOut.String(), "resetting: 12/40 users reset"); got != tty {
			t.Errorf("terminal %v: bar shown %v; stderr %q", tty, got, errOut)
		}
		if out.Len() != 0 {
			t.Errorf("bar on stdout: %q", out)
		}
	}
}
